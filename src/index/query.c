/* query.c -- parse and check GET query strings (?list, ?unlinked, ...). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"
#include "query.h"

void query_init(struct query *q) {
    q->op = QUERY_NONE;
    q->has_start = 0;
    q->startlen = 0;
    q->limit = -1;
    q->url_encoding = -1;
    q->err[0] = '\0';
    q->bad = 0;
}

static void refuse(struct query *q, const char *why, const char *name) {
    if (q->bad) return; /* keep the first reason */
    q->bad = 1;
    mkv_seterr(q->err, "%s '%.64s'", why, name);
}

static void set_op(struct query *q, enum query_op op, const char *name,
                   const char *value) {
    if (value != NULL && *value != '\0') refuse(q, "takes no value:", name);
    else if (q->op != QUERY_NONE) refuse(q, "a second operation:", name);
    else q->op = op;
}

void query_add(struct query *q, const char *name, const char *value) {
    if (strcmp(name, "list") == 0) {
        set_op(q, QUERY_LIST, name, value);
    } else if (strcmp(name, "unlinked") == 0) {
        set_op(q, QUERY_UNLINKED, name, value);
    } else if (strcmp(name, "health") == 0) {
        set_op(q, QUERY_HEALTH, name, value);
    } else if (strcmp(name, "metrics") == 0) {
        set_op(q, QUERY_METRICS, name, value);
    } else if (strcmp(name, "start") == 0) {
        if (q->has_start)
            refuse(q, "repeated:", name);
        else if (value == NULL ||
                 key_unescape(value, strlen(value), q->start, sizeof(q->start),
                              &q->startlen) != KEY_OK)
            refuse(q, "malformed value for", name);
        else
            q->has_start = 1;
    } else if (strcmp(name, "limit") == 0) {
        char *end = NULL;
        long v = -1;
        if (value != NULL && *value >= '0' && *value <= '9') {
            errno = 0;
            v = strtol(value, &end, 10);
            if (errno || *end || v > QUERY_LIMIT_MAX) v = -1;
        }
        if (q->limit >= 0)
            refuse(q, "repeated:", name);
        else if (v < 0)
            refuse(q, "malformed value for", name);
        else
            q->limit = v;
    } else if (strcmp(name, "encoding") == 0) {
        if (q->url_encoding >= 0)
            refuse(q, "repeated:", name);
        else if (value == NULL || strcmp(value, "url") != 0)
            refuse(q, "malformed value (only \"url\") for", name);
        else
            q->url_encoding = 1;
    } else {
        refuse(q, "unknown query operation", name);
    }
}

int query_done(struct query *q) {
    if (!q->bad && (q->has_start || q->limit >= 0 || q->url_encoding >= 0) &&
        q->op != QUERY_LIST && q->op != QUERY_UNLINKED)
        refuse(q, "start, limit and encoding need", "list or unlinked");
    if (q->limit < 0) q->limit = 0;
    if (q->url_encoding < 0) q->url_encoding = 0;
    return q->bad ? MKV_ERR : MKV_OK;
}

int query_parse(struct query *q, const char *raw, size_t len) {
    char name[64], value[4 * MKV_KEY_MAX];
    size_t i = 0;

    query_init(q);
    while (i < len) {
        size_t j = i, eq = 0, nl, vl;
        int has_eq = 0;
        while (j < len && raw[j] != '&') {
            if (raw[j] == '=' && !has_eq) {
                has_eq = 1;
                eq = j;
            }
            j++;
        }
        nl = (has_eq ? eq : j) - i;
        vl = has_eq ? j - eq - 1 : 0;
        if (nl == 0 && !has_eq) { /* "a&&b": an empty pair, skip */
            i = j + 1;
            continue;
        }
        if (nl >= sizeof(name) || vl >= sizeof(value) ||
            memchr(raw + i, '\0', j - i) != NULL) {
            refuse(q, "overlong or malformed pair near", "");
            break;
        }
        memcpy(name, raw + i, nl);
        name[nl] = '\0';
        if (has_eq) {
            memcpy(value, raw + eq + 1, vl);
            value[vl] = '\0';
        }
        query_add(q, name, has_eq ? value : NULL);
        i = j + 1;
    }
    return query_done(q);
}
