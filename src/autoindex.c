/* autoindex.c -- a strict reader for nginx's JSON directory listings. */
#include <string.h>

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

int autoindex_parse(const char *json, size_t len,
                    int (*fn)(const char *name, size_t namelen, int is_dir,
                              void *arg),
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
        int has_name = 0, has_type = 0;
        if (expect(&c, '{')) return MKV_ERR;
        for (;;) {
            if (string(&c, field, sizeof(field), &n)) return MKV_ERR;
            if (expect(&c, ':')) return MKV_ERR;
            skip_ws(&c);
            if ((strcmp(field, "name") == 0 && has_name) ||
                (strcmp(field, "type") == 0 && has_type)) {
                mkv_seterr(err, "autoindex: an entry with two \"%s\" fields", field);
                return MKV_ERR;
            }
            if (strcmp(field, "name") == 0) {
                if (string(&c, name, sizeof(name), &namelen)) return MKV_ERR;
                has_name = 1;
            } else if (strcmp(field, "type") == 0) {
                if (string(&c, type, sizeof(type), &n)) return MKV_ERR;
                has_type = 1;
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
            if (fn(name, namelen, type[0] == 'd', arg)) return MKV_OK;
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
