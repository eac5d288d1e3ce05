/* record.c -- parse and format index records (pymkv / minikeyvalue). */
#include <string.h>

#include "record.h"

static int volchar_ok(unsigned char c) { return c > ' ' && c < 127 && c != ','; }

int record_volume_ok(const char *s) {
    size_t n = 0;
    /* A volume named like a prefix would read back as that prefix. */
    if (strncmp(s, "DELETED", 7) == 0 || strncmp(s, "WRITING", 7) == 0 ||
        strncmp(s, "FLAT", 4) == 0 || strncmp(s, "HASH", 4) == 0)
        return 0;
    for (; s[n]; n++)
        if (!volchar_ok((unsigned char)s[n])) return 0;
    return n > 0 && n <= RECORD_VOLUME_MAX;
}

static int is_lowerhex(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
    return 1;
}

int record_decode(const char *data, size_t len, struct record *r, char *err) {
    size_t i, start, o = 0;

    r->deleted = r->writing = r->flat = 0;
    r->hash[0] = '\0';
    record_clear_volumes(r);
    if (len >= 7 && memcmp(data, "DELETED", 7) == 0) {
        r->deleted = 1;
        data += 7;
        len -= 7;
    } else if (len >= 7 && memcmp(data, "WRITING", 7) == 0) {
        r->writing = 1;
        data += 7;
        len -= 7;
    }
    if (len >= 4 && memcmp(data, "FLAT", 4) == 0) {
        r->flat = 1;
        data += 4;
        len -= 4;
    }
    if (len >= 4 && memcmp(data, "HASH", 4) == 0) {
        if (len < 36 || !is_lowerhex(data + 4, 32)) {
            mkv_seterr(err, "record has a malformed HASH field");
            return MKV_ERR;
        }
        memcpy(r->hash, data + 4, 32);
        r->hash[32] = '\0';
        data += 36;
        len -= 36;
    }
    for (start = 0, i = 0; i <= len; i++) {
        if (i < len && data[i] != ',') {
            if (!volchar_ok((unsigned char)data[i])) {
                mkv_seterr(err, "record has a byte 0x%02x not allowed in a volume",
                           (unsigned char)data[i]);
                return MKV_ERR;
            }
            continue;
        }
        if (i == start || i - start > RECORD_VOLUME_MAX) {
            mkv_seterr(err, "record has an empty or overlong volume");
            return MKV_ERR;
        }
        if (r->nvolumes == RECORD_MAX_VOLUMES) {
            mkv_seterr(err, "record names more than %d volumes",
                       RECORD_MAX_VOLUMES);
            return MKV_ERR;
        }
        memcpy(r->buf + o, data + start, i - start);
        r->buf[o + i - start] = '\0';
        /* The rule record_encode writes by, so the two always agree. */
        if (!record_volume_ok(r->buf + o)) {
            mkv_seterr(err, "record names a volume that reads as a prefix");
            return MKV_ERR;
        }
        r->at[r->nvolumes++] = (uint16_t)o;
        o += i - start + 1;
        r->used = (uint16_t)o;
        start = i + 1;
    }
    return MKV_OK;
}

int record_encode(const struct record *r, char *out, char *err) {
    size_t n = 0;

    if (r->nvolumes < 1 || r->nvolumes > RECORD_MAX_VOLUMES) {
        mkv_seterr(err, "a record needs 1 to %d volumes", RECORD_MAX_VOLUMES);
        return MKV_ERR;
    }
    if (r->deleted && r->writing) {
        mkv_seterr(err, "a record is unlinked or being written, not both");
        return MKV_ERR;
    }
    if (r->deleted || r->writing) {
        memcpy(out, r->deleted ? "DELETED" : "WRITING", 7);
        n = 7;
    }
    if (r->flat) {
        memcpy(out + n, "FLAT", 4);
        n += 4;
    }
    if (r->hash[0] != '\0') {
        if (strlen(r->hash) != 32 || !is_lowerhex(r->hash, 32)) {
            mkv_seterr(err, "record hash is not 32 lowercase hex digits");
            return MKV_ERR;
        }
        memcpy(out + n, "HASH", 4);
        memcpy(out + n + 4, r->hash, 32);
        n += 36;
    }
    for (int i = 0; i < r->nvolumes; i++) {
        const char *v = record_volume(r, i);
        size_t vl = strlen(v);
        if (!record_volume_ok(v)) {
            mkv_seterr(err, "invalid volume name in record");
            return MKV_ERR;
        }
        if (i > 0) out[n++] = ',';
        memcpy(out + n, v, vl);
        n += vl;
    }
    return (int)n;
}

int record_add_volume(struct record *r, const char *v) {
    size_t n = strlen(v) + 1;
    if (r->nvolumes == RECORD_MAX_VOLUMES || n > RECORD_VOLUME_MAX + 1 ||
        r->used + n > sizeof(r->buf))
        return MKV_ERR;
    memcpy(r->buf + r->used, v, n);
    r->at[r->nvolumes++] = r->used;
    r->used = (uint16_t)(r->used + n);
    return MKV_OK;
}
