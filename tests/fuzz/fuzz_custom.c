/* Fuzzes the custom provider: template parsing and expansion in every
 * escaping context, success-json rules and reply classification.  The first
 * byte picks the status; the input is used as a template, as a success-json
 * specification and as a reply body. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/custom.h"
#include "fuzz_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_json_string(const char *tmpl_out)
{
	/* The JSON-context expansion of "\"" + template + "\"" must be one
	 * JSON string when the template's literals hold no quote or backslash. */
	json_error_t e;
	json_t *j = json_loads(tmpl_out, JSON_DECODE_ANY, &e);
	if (j == NULL || !json_is_string(j))
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 201, 204, 400, 401, 404, 429, 500, 503, 302, 100 };
	uint8_t sel = size > 0 ? data[0] : 0;
	size_t len = size > 0 ? size - 1 : 0;
	char *text = malloc(len + 1);
	if (text == NULL)
		return 0;
	if (len > 0)
		memcpy(text, data + 1, len);
	text[len] = '\0';
	long status = statuses[(sel & 0x0f) % (sizeof(statuses) / sizeof(statuses[0]))];

	static const struct dw_tpl_secret sec[] = { { "key", "s\"e\\c r&e=t\x01" }, { "a", "b" } };
	struct dw_tpl_values vals = {
		.v = { "home.example.org", "81.2.69.160", "81.2.69.160", "", "300", "A" },
		.secrets = sec,
		.nsecrets = 2,
	};
	struct dw_tpl t;
	char err[200];
	if (dw_tpl_parse(text, &t, err, sizeof(err)) == 0) {
		char *out = malloc(65536);
		if (out == NULL)
			abort();
		for (int ctx = DW_TPL_CTX_URL; ctx <= DW_TPL_CTX_RAW; ctx++) {
			for (int redact = 0; redact < 2; redact++) {
				int rc = dw_tpl_expand(&t, (enum dw_tpl_ctx)ctx, &vals, redact != 0, out, 65536);
				if (rc != 0 && out[0] != '\0')
					abort();
				/* Redacted text never holds a secret's value. */
				if (rc == 0 && redact && strstr(out, "s\"e\\c") != NULL &&
				    strstr(text, "s\"e\\c") == NULL)
					abort();
				/* URL and form contexts never let a value add a separator. */
				if (rc == 0 && ctx == DW_TPL_CTX_URL && !redact &&
				    strchr(text, '&') == NULL && strchr(out, '&') != NULL)
					abort();
			}
		}
		bool plain = strpbrk(text, "\"\\") == NULL;
		for (size_t i = 0; plain && i < len; i++)
			plain = (unsigned char)text[i] < 0x80;
		if (plain) {
			size_t cap = 65536;
			out[0] = '"';
			if (dw_tpl_expand(&t, DW_TPL_CTX_JSON, &vals, false, out + 1, cap - 2) == 0) {
				size_t n = strlen(out);
				out[n] = '"';
				out[n + 1] = '\0';
				check_json_string(out);
			}
		}
		free(out);
	} else if (err[0] == '\0') {
		abort();   /* every refusal says why */
	}
	dw_tpl_free(&t);

	struct dw_custom_rule rule = { .status = 200 };
	if (dw_custom_rule_json(text, &rule, err, sizeof(err)) == 0 && rule.value == NULL)
		abort();
	struct dw_result res = { .outcome = DW_OUT_DONE, .retry_after_s = -1 };
	dw_custom_classify(&rule, status, text, len, 5, &res);
	fuzz_check_result(&res);
	if (res.outcome == DW_OUT_DONE && status != 200)
		abort();
	dw_custom_rule_free(&rule);
	rule.line = strdup("good");
	dw_custom_classify(&rule, status, text, len, -1, &res);
	fuzz_check_result(&res);
	if (res.outcome == DW_OUT_DONE && (len < 4 || memcmp(text, "good", 4) != 0))
		abort();
	dw_custom_rule_free(&rule);
	free(text);
	return 0;
}
