/*
 * config.c -- the opaque configuration: defaults, typed setters, lookup of
 * options by name.  Every setter validates its argument and changes
 * nothing on error.
 */
#include <stdlib.h>
#include <string.h>

#include "zab_int.h"

typedef struct option_info {
    const char *name;
    uint64_t def, min, max;
} option_info_t;

/* Indexed by zab_option_t. */
static const option_info_t options[ZAB__OPT_COUNT] = {
    [ZAB_OPT_ELECTION_TIMEOUT_MS] = {"election_timeout_ms", 200, 1, 3600000},
    [ZAB_OPT_ELECTION_FINALIZE_MS] = {"election_finalize_ms", 50, 1, 3600000},
    [ZAB_OPT_HEARTBEAT_MS] = {"heartbeat_ms", 500, 1, 3600000},
    [ZAB_OPT_PEER_TIMEOUT_MS] = {"peer_timeout_ms", 4000, 1, 3600000},
    [ZAB_OPT_SYNC_TIMEOUT_MS] = {"sync_timeout_ms", 5000, 1, 3600000},
    [ZAB_OPT_MAX_PAYLOAD_BYTES] = {"max_payload_bytes", 1048576, 1,
                                   (uint64_t)1 << 30},
    [ZAB_OPT_MAX_OUTSTANDING] = {"max_outstanding", 4096, 1, 1u << 24},
    [ZAB_OPT_MAX_PENDING_BYTES] = {"max_pending_bytes", (uint64_t)64 << 20,
                                   1, (uint64_t)1 << 40},
    [ZAB_OPT_MAX_BARRIERS] = {"max_barriers", 1024, 1, 1u << 20},
    [ZAB_OPT_DIFF_MAX] = {"diff_max", 100000, 1, (uint64_t)1 << 32},
    [ZAB_OPT_COUNTER_MAX] = {"counter_max", 0xfffffffeu, 1, 0xfffffffeu},
};

void zab__config_defaults(struct zab_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (int i = 1; i < ZAB__OPT_COUNT; i++) {
        cfg->opt[i] = options[i].def;
    }
}

int zab_config_new(zab_config_t **out)
{
    if (out == NULL) {
        return ZAB_EINVAL;
    }
    zab_config_t *cfg = malloc(sizeof *cfg);
    if (cfg == NULL) {
        return ZAB_ENOMEM;
    }
    zab__config_defaults(cfg);
    *out = cfg;
    return 0;
}

void zab_config_free(zab_config_t *cfg)
{
    free(cfg);
}

int zab_config_set_id(zab_config_t *cfg, uint32_t id)
{
    if (cfg == NULL || id == 0) {
        return ZAB_EINVAL;
    }
    cfg->my_id = id;
    return 0;
}

static int add_member(zab_config_t *cfg, uint32_t id, int voter)
{
    if (cfg == NULL || id == 0 || cfg->n_members >= ZAB__MAX_MEMBERS) {
        return ZAB_EINVAL;
    }
    for (uint32_t i = 0; i < cfg->n_members; i++) {
        if (cfg->ids[i] == id) {
            return ZAB_EINVAL;
        }
    }
    cfg->ids[cfg->n_members] = id;
    cfg->voter[cfg->n_members] = (uint8_t)voter;
    cfg->n_members++;
    return 0;
}

int zab_config_add_voter(zab_config_t *cfg, uint32_t id)
{
    return add_member(cfg, id, 1);
}

int zab_config_add_observer(zab_config_t *cfg, uint32_t id)
{
    return add_member(cfg, id, 0);
}

int zab_config_set(zab_config_t *cfg, int option, uint64_t value)
{
    if (cfg == NULL || option < 1 || option >= ZAB__OPT_COUNT ||
        value < options[option].min || value > options[option].max) {
        return ZAB_EINVAL;
    }
    cfg->opt[option] = value;
    return 0;
}

int zab_config_get(const zab_config_t *cfg, int option, uint64_t *value)
{
    if (cfg == NULL || value == NULL || option < 1 ||
        option >= ZAB__OPT_COUNT) {
        return ZAB_EINVAL;
    }
    *value = cfg->opt[option];
    return 0;
}

int zab_config_option(const char *name, int *option)
{
    if (name == NULL || option == NULL) {
        return ZAB_EINVAL;
    }
    for (int i = 1; i < ZAB__OPT_COUNT; i++) {
        if (strcmp(options[i].name, name) == 0) {
            *option = i;
            return 0;
        }
    }
    return ZAB_ENOENT;
}

const char *zab_option_name(int option)
{
    if (option < 1 || option >= ZAB__OPT_COUNT) {
        return NULL;
    }
    return options[option].name;
}

int zab_config_set_allocator(zab_config_t *cfg, zab_malloc_fn m,
                             zab_realloc_fn r, zab_free_fn f, void *alloc_ud)
{
    if (cfg == NULL || m == NULL || r == NULL || f == NULL) {
        return ZAB_EINVAL;
    }
    cfg->malloc_fn = m;
    cfg->realloc_fn = r;
    cfg->free_fn = f;
    cfg->alloc_ud = alloc_ud;
    return 0;
}
