/* This instance among the gateways that serve from one database.
 *
 * Each instance has a random id for its life (the owner of the leases it
 * takes, see gw_upstream.h) and writes a heartbeat into the store every few
 * seconds; the instances seen within the last three heartbeats are the
 * live ones.  The per-minute budgets of rate, rate-source and
 * audit-refusals are totals: each live instance allows its share, so
 * spreading requests over instances gains nothing (gw_rate_set_share).
 * Lockouts need no share: they are counted in the store.  A clean stop
 * removes the instance's row; a killed one drops out after three missed
 * heartbeats (until then the others keep the smaller share). */
#pragma once

#include <stdint.h>

#include "gateway/gw_store.h"

#define GW_CLUSTER_BEAT_S 5

struct gw_cluster;

/* A new instance (its id made here).  NULL when out of memory. */
struct gw_cluster *gw_cluster_new(struct gw_store *st);
/* Removes the instance's row (a clean stop) and frees c.  NULL is fine. */
void gw_cluster_free(struct gw_cluster *c);
/* 32 hex digits, for the life of the process. */
const char *gw_cluster_id(const struct gw_cluster *c);
/* The heartbeat; returns the live instances (at least 1).  When the store
 * fails, the last count is kept. */
unsigned gw_cluster_beat(struct gw_cluster *c);
/* The count of the last heartbeat. */
unsigned gw_cluster_live(const struct gw_cluster *c);
