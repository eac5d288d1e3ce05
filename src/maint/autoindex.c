/* autoindex.c -- a strict reader for nginx's JSON directory listings. */
#include <string.h>
#include <time.h>

#include "autoindex.h"

struct cursor {
    const char *p, *end;
    char *err;
};

static void skip_ws(struct cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' ||
                             *c->p == '\t'))
        c->p++;
}

static int expect(struct cursor *c, char ch) {
    skip_ws(c);
    if (c->p == c->end || *c->p != ch) {
        mkv_seterr(c->err, "autoindex: expected '%c' with %ld bytes left", ch,
                   (long)(c->end - c->p));
        return MKV_ERR;
    }
    c->p++;
    return MKV_OK;
}

static int hex4(const char *p, unsigned *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0'
              : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0) return MKV_ERR;
        *v = *v << 4 | (unsigned)d;
    }
    return MKV_OK;
}

/* string -- a JSON string into out (cap bytes, NUL-terminated); *n its
 * length. Refuses NUL, unpaired surrogates and overlong strings. */
static int string(struct cursor *c, char *out, size_t cap, size_t *n) {
    size_t o = 0;
    if (expect(c, '"')) return MKV_ERR;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p++;
        unsigned cp;
        if (ch < 0x20) goto bad;
        if (ch != '\\') {
            if (o + 1 >= cap) goto bad;
            out[o++] = (char)ch;
            continue;
        }
        if (c->p == c->end) goto bad;
        switch (*c->p++) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (c->end - c->p < 4 || hex4(c->p, &cp)) goto bad;
            c->p += 4;
            if (cp >= 0xdc00 && cp <= 0xdfff) goto bad;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' ||
                    hex4(c->p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
                    goto bad;
                c->p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            break;
        default: goto bad;
        }
        if (cp == 0 ||
            o + (cp < 0x80 ? 1u : cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u) >= cap)
            goto bad;
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else if (cp < 0x800) {
            out[o++] = (char)(0xc0 | cp >> 6);
            out[o++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[o++] = (char)(0xe0 | cp >> 12);
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[o++] = (char)(0xf0 | cp >> 18);
            out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    if (c->p == c->end) goto bad;
    c->p++;
    out[o] = '\0';
    *n = o;
    return MKV_OK;
bad:
    mkv_seterr(c->err, "autoindex: malformed string");
    return MKV_ERR;
}

/* scalar -- skip an unsigned integer (nginx's "size"), true, false or
 * null; nothing else appears in a listing. */
static int scalar(struct cursor *c) {
    static const char *const words[] = {"true", "false", "null"};
    const char *start;
    skip_ws(c);
    start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    if (c->p != start) return MKV_OK;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(c->end - c->p) >= n && memcmp(c->p, words[i], n) == 0) {
            c->p += n;
            return MKV_OK;
        }
    }
    mkv_seterr(c->err, "autoindex: expected a value");
    return MKV_ERR;
}

/* digits -- the n decimal digits at s as a number, or -1. */
static int digits(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* http_date -- nginx's mtime, an RFC 1123 date in GMT ("Tue, 24 Nov 2026
 * 20:36:07 GMT", exactly 29 bytes), as seconds since the epoch. */
static int http_date(const char *s, size_t n, int64_t *out) {
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm;
    time_t t;
    int day = -1, mon = -1;

    if (n != 29 || memcmp(s + 3, ", ", 2) != 0 || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || memcmp(s + 25, " GMT", 4) != 0)
        return MKV_ERR;
    for (int i = 0; i < 7; i++)
        if (memcmp(s, days + 3 * i, 3) == 0) day = i;
    for (int i = 0; i < 12; i++)
        if (memcmp(s + 8, months + 3 * i, 3) == 0) mon = i;
    memset(&tm, 0, sizeof(tm));
    tm.tm_mday = digits(s + 5, 2);
    tm.tm_year = digits(s + 12, 4) - 1900;
    tm.tm_hour = digits(s + 17, 2);
    tm.tm_min = digits(s + 20, 2);
    tm.tm_sec = digits(s + 23, 2);
    if (day < 0 || mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_year < 70 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
        tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
        return MKV_ERR;
    tm.tm_mon = mon;
    t = timegm(&tm);
    if (t == (time_t)-1) return MKV_ERR;
    *out = (int64_t)t;
    return MKV_OK;
}

int autoindex_parse(const char *json, size_t len,
                    int (*fn)(const struct autoindex_entry *e, void *arg),
                    void *arg, char *err) {
    struct cursor c = {json, json + len, err};
    char name[AUTOINDEX_NAME_MAX + 1], field[AUTOINDEX_NAME_MAX + 1], type[16];
    size_t namelen = 0, n;

    if (expect(&c, '[')) return MKV_ERR;
    skip_ws(&c);
    if (c.p < c.end && *c.p == ']') {
        c.p++;
        goto end;
    }
    for (;;) {
        int has_name = 0, has_type = 0, has_mtime = 0;
        struct autoindex_entry e = {name, 0, 0, -1};
        if (expect(&c, '{')) return MKV_ERR;
        for (;;) {
            if (string(&c, field, sizeof(field), &n)) return MKV_ERR;
            if (expect(&c, ':')) return MKV_ERR;
            skip_ws(&c);
            if ((strcmp(field, "name") == 0 && has_name) ||
                (strcmp(field, "type") == 0 && has_type) ||
                (strcmp(field, "mtime") == 0 && has_mtime)) {
                mkv_seterr(err, "autoindex: an entry with two \"%s\" fields", field);
                return MKV_ERR;
            }
            if (strcmp(field, "name") == 0) {
                if (string(&c, name, sizeof(name), &namelen)) return MKV_ERR;
                has_name = 1;
            } else if (strcmp(field, "type") == 0) {
                if (string(&c, type, sizeof(type), &n)) return MKV_ERR;
                has_type = 1;
            } else if (strcmp(field, "mtime") == 0) {
                if (string(&c, field, sizeof(field), &n)) return MKV_ERR;
                if (http_date(field, n, &e.mtime) != MKV_OK) {
                    mkv_seterr(err, "autoindex: malformed mtime '%.40s'", field);
                    return MKV_ERR;
                }
                has_mtime = 1;
            } else if (c.p < c.end && *c.p == '"') {
                if (string(&c, field, sizeof(field), &n)) return MKV_ERR;
            } else if (scalar(&c)) {
                return MKV_ERR;
            }
            skip_ws(&c);
            if (c.p < c.end && *c.p == ',') {
                c.p++;
                continue;
            }
            if (expect(&c, '}')) return MKV_ERR;
            break;
        }
        if (!has_name || !has_type || namelen == 0) {
            mkv_seterr(err, "autoindex: an entry without a name or type");
            return MKV_ERR;
        }
        if (strcmp(type, "directory") == 0 || strcmp(type, "file") == 0) {
            e.namelen = namelen;
            e.is_dir = type[0] == 'd';
            if (fn(&e, arg)) return MKV_OK;
        } /* other types (links, sockets) are not values: pass over */
        skip_ws(&c);
        if (c.p < c.end && *c.p == ',') {
            c.p++;
            continue;
        }
        if (expect(&c, ']')) return MKV_ERR;
        break;
    }
end:
    skip_ws(&c);
    if (c.p != c.end) {
        mkv_seterr(err, "autoindex: trailing bytes after the listing");
        return MKV_ERR;
    }
    return MKV_OK;
}
