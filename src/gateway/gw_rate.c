/* Token buckets and lockout (see gw_rate.h). */
#include "gateway/gw_rate.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define PROBE 8

struct slot {
	uint8_t key[16];
	bool used;
	double tokens;
	int64_t refilled_ms;      /* bucket state time */
	int64_t seen_ms;
	int64_t locked_until_ms;
	uint64_t skipped;         /* refused takes since the last granted one */
};

struct gw_rate {
	pthread_mutex_t lock;
	atomic_uint share;        /* instances the budgets are shared among */
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	struct slot *v;
	size_t n;
};

struct gw_rate *gw_rate_new(size_t slots)
{
	struct gw_rate *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->n = slots < PROBE ? PROBE : slots;
	r->v = calloc(r->n, sizeof(*r->v));
	if (r->v == NULL) {
		free(r);
		return NULL;
	}
	randombytes_buf(r->hkey, sizeof(r->hkey));
	pthread_mutex_init(&r->lock, NULL);
	atomic_init(&r->share, 1);
	return r;
}

void gw_rate_free(struct gw_rate *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->v);
	free(r);
}

void gw_rate_key_ip(const struct dw_ip *ip, unsigned v6_prefix, uint8_t key[16])
{
	memset(key, 0, 16);
	if (ip->family == DW_FAM_V4) {
		key[0] = 4;
		memcpy(key + 1, ip->bytes, 4);
		return;
	}
	/* 15 bytes of key hold up to 120 bits: a longer prefix is cut there
	 * (a /121../128 limit is finer than any subscriber's allocation). */
	if (v6_prefix > 120)
		v6_prefix = 120;
	key[0] = 6;
	unsigned full = v6_prefix / 8, rest = v6_prefix % 8;
	memcpy(key + 1, ip->bytes, full);
	if (rest != 0)
		key[1 + full] = (uint8_t)(ip->bytes[full] & (0xffu << (8 - rest)));
}

void gw_rate_key_host(int64_t host_id, uint8_t key[16])
{
	memset(key, 0, 16);
	key[0] = 'h';
	uint64_t v = (uint64_t)host_id;
	for (int i = 0; i < 8; i++)
		key[1 + i] = (uint8_t)(v >> (8 * i));
}

void gw_rate_key_audit(int64_t host_id, uint8_t key[16])
{
	gw_rate_key_host(host_id, key);
	key[0] = 'a';
}

/* The slot for key, claiming one when absent (caller holds the lock). */
static struct slot *find(struct gw_rate *r, const uint8_t key[16], int64_t now_ms, bool create)
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, key, 16, r->hkey);
	uint64_t idx = 0;
	for (int i = 0; i < 8; i++)
		idx |= (uint64_t)h[i] << (8 * i);
	struct slot *victim = NULL;
	for (size_t p = 0; p < PROBE; p++) {
		struct slot *s = &r->v[(idx + p) % r->n];
		if (s->used && memcmp(s->key, key, 16) == 0)
			return s;
		if (!s->used) {
			if (victim == NULL || victim->used)
				victim = s;
		} else if (s->locked_until_ms <= now_ms &&
		           (victim == NULL || (victim->used && s->seen_ms < victim->seen_ms))) {
			victim = s;
		}
	}
	if (!create || victim == NULL)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, 16);
	victim->used = true;
	victim->tokens = -1;   /* full on first use */
	victim->refilled_ms = now_ms;
	return victim;
}

void gw_rate_set_share(struct gw_rate *r, unsigned n)
{
	atomic_store(&r->share, n < 1 ? 1 : n);
}

/* Caller holds the lock.  s may be NULL: refused. */
static bool take(struct slot *s, double per_minute, int64_t now_ms, long *retry_s)
{
	bool ok = true;
	if (s == NULL) {
		/* Every probed slot is locked out: refuse rather than forget. */
		*retry_s = 60;
		ok = false;
	} else {
		double rate = per_minute, cap = per_minute < 1.0 ? 1.0 : per_minute;
		if (s->tokens < 0)
			s->tokens = cap;
		double dt = (double)(now_ms - s->refilled_ms) / 60000.0;
		if (dt > 0)
			s->tokens = s->tokens + dt * rate > cap ? cap : s->tokens + dt * rate;
		s->refilled_ms = now_ms;
		s->seen_ms = now_ms;
		if (s->tokens >= 1.0) {
			s->tokens -= 1.0;
		} else {
			ok = false;
			double need = (1.0 - s->tokens) * 60.0 / rate;
			*retry_s = (long)need + 1;
		}
	}
	return ok;
}

bool gw_rate_take(struct gw_rate *r, const uint8_t key[16], uint32_t per_minute,
                  int64_t now_ms, long *retry_s)
{
	double share = (double)per_minute / atomic_load(&r->share);
	pthread_mutex_lock(&r->lock);
	bool ok = take(find(r, key, now_ms, true), share, now_ms, retry_s);
	pthread_mutex_unlock(&r->lock);
	return ok;
}

bool gw_rate_take_counted(struct gw_rate *r, const uint8_t key[16], uint32_t per_minute,
                          int64_t now_ms, uint64_t *skipped)
{
	long retry;
	*skipped = 0;
	double share = (double)per_minute / atomic_load(&r->share);
	pthread_mutex_lock(&r->lock);
	struct slot *s = find(r, key, now_ms, true);
	bool ok = take(s, share, now_ms, &retry);
	if (s != NULL) {
		if (ok) {
			*skipped = s->skipped;
			s->skipped = 0;
		} else {
			s->skipped++;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return ok;
}

bool gw_rate_locked(struct gw_rate *r, const uint8_t key[16], int64_t now_ms, long *retry_s)
{
	pthread_mutex_lock(&r->lock);
	struct slot *s = find(r, key, now_ms, false);
	bool locked = s != NULL && s->locked_until_ms > now_ms;
	if (locked)
		*retry_s = (long)((s->locked_until_ms - now_ms + 999) / 1000);
	pthread_mutex_unlock(&r->lock);
	return locked;
}

void gw_rate_lock(struct gw_rate *r, const uint8_t key[16], int64_t now_ms, int64_t until_ms)
{
	pthread_mutex_lock(&r->lock);
	struct slot *s = find(r, key, now_ms, true);
	if (s != NULL && s->locked_until_ms < until_ms) {
		s->locked_until_ms = until_ms;
		s->seen_ms = now_ms;
	}
	pthread_mutex_unlock(&r->lock);
}
