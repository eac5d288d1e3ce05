/* test_placement.c -- which volumes hold a key and where, as pymkv says.
 *
 * Every expected index, name and path below was computed independently
 * with Python's hashlib and base64 (not with the code under test):
 *
 *   rank = sorted(range(len(vs)), reverse=True, key=lambda i:
 *                 (hashlib.md5(vs[i].encode() + k).digest(), -i))
 *   vol  = rank[0]
 *   sv   = "%s/sv%02X" % (vs[i], int.from_bytes(
 *              hashlib.md5(vs[i].encode() + k).digest()[12:16], "big") % N)
 *
 *   def name(k):                # the rule in placement.h
 *       out = []
 *       for seg in base64.b64encode(k).decode().split("/"):
 *           if seg == "":
 *               out.append("-")
 *               continue
 *           pieces = []
 *           while len(seg) > 255:
 *               pieces.append(seg[:254] + "-")
 *               seg = seg[254:]
 *           out.append("/".join(pieces + [seg]))
 *       return "/".join(out)
 *   d    = hashlib.md5(k).digest()
 *   path = "/%02x/%02x/%s" % (d[0], d[1], name(k))
 *
 * For every key pymkv can store (each base64 segment 1..255 bytes) name(k)
 * is pymkv's plain base64, so pymkv's vectors are unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "placement.h"

/* The volume sets every key is placed over, in this order. */
static char *one[] = {"localhost:3001"};
static char *two[] = {"localhost:3001", "localhost:3002"};
static char *three[] = {"localhost:3001", "localhost:3002", "localhost:3003"};
static char *five[] = {"localhost:3001", "localhost:3002", "localhost:3003",
                       "localhost:3004", "localhost:3005"};
static char *tennet[] = {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"};

/* The five-volume set in another order; the same volume string must win. */
static char *five_shuffled[] = {"localhost:3004", "localhost:3002",
                                "localhost:3005", "localhost:3001",
                                "localhost:3003"};

struct volume_set {
    char **volumes;
    int n;
};

static const struct volume_set sets[] = {
    {one, 1}, {two, 2}, {three, 3}, {five, 5}, {tennet, 3},
};
#define NSETS (sizeof(sets) / sizeof(sets[0]))

struct vector {
    const char *key;
    size_t keylen;
    int volume[NSETS];   /* chosen index in one, two, three, five, tennet */
    const char *path;
    int pathlen;
};

static const struct vector vectors[] = {
    /* pymkv's README example. */
    {"/wehave", 7, {0, 0, 0, 0, 1}, "/60/08/L3dlaGF2ZQ==", 19},
    /* A space, as "/hello%20world" decodes. */
    {"/hello world", 12, {0, 0, 0, 0, 1}, "/da/7b/L2hlbGxvIHdvcmxk", 23},
    /* UTF-8 "/café". */
    {"/caf\xc3\xa9", 6, {0, 0, 0, 3, 1}, "/fa/9b/L2NhZsOp", 15},
    /* UTF-8 "/日本語/ファイル": its base64 holds both '+' and '/'. */
    {"/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/"
     "\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4\xe3\x83\xab", 23, {0, 0, 0, 3, 1},
     "/41/79/L+aXpeacrOiqni/jg5XjgqHjgqTjg6s=", 39},
    /* Nested slashes. */
    {"/a/b/c/d.txt", 12, {0, 1, 1, 1, 0}, "/38/54/L2EvYi9jL2QudHh0", 23},
    /* ASCII whose base64 holds '+' and '/'. */
    {"/~~~>>>???", 10, {0, 0, 0, 0, 0}, "/a7/24/L35+fj4+Pj8/Pw==", 23},
    /* The one-byte key. */
    {"/", 1, {0, 0, 0, 0, 2}, "/66/66/Lw==", 11},
    {"/1", 2, {0, 0, 0, 0, 1}, "/5b/58/LzE=", 11},
    /* '+' stays '+' in a key. */
    {"/x+y=z", 6, {0, 0, 2, 4, 1}, "/92/62/L3greT16", 15},
    {"/some/key.jpg", 13, {0, 0, 0, 4, 0}, "/83/14/L3NvbWUva2V5LmpwZw==", 27},
    {"/hello", 6, {0, 1, 1, 1, 1}, "/3e/d1/L2hlbGxv", 15},
    {"/photos/cat.png", 15, {0, 1, 1, 3, 2}, "/ba/3a/L3Bob3Rvcy9jYXQucG5n", 27},
    {"/key1", 5, {0, 1, 2, 2, 0}, "/36/da/L2tleTE=", 15},
    {"/mp3/song.mp3", 13, {0, 1, 2, 3, 2}, "/40/99/L21wMy9zb25nLm1wMw==", 27},
    {"/b", 2, {0, 0, 2, 2, 0}, "/97/aa/L2I=", 11},
    /* A long key: 188 bytes, whose base64 is one 252-byte name. */
    {"/logs/2024/01/01/app-server-"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
     "0123456789abcdef0123456789abcdef", 188, {0, 1, 2, 2, 1},
     "/6e/18/"
     "L2xvZ3MvMjAyNC8wMS8wMS9hcHAtc2VydmVyLTAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2"
     "Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5"
     "YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJj"
     "ZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", 259},
};
#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

/* For each vector key over `five`: the whole ranking, best first. */
static const int five_ranks[NVECTORS][5] = {
    {0, 4, 2, 3, 1}, {0, 1, 3, 2, 4}, {3, 0, 4, 1, 2}, {3, 0, 4, 1, 2},
    {1, 3, 2, 4, 0}, {0, 2, 3, 4, 1}, {0, 2, 4, 1, 3}, {0, 1, 2, 3, 4},
    {4, 2, 0, 3, 1}, {4, 0, 2, 3, 1}, {1, 2, 0, 3, 4}, {3, 4, 1, 2, 0},
    {2, 4, 3, 1, 0}, {3, 2, 1, 4, 0}, {2, 0, 3, 1, 4}, {2, 4, 1, 0, 3},
};

/* For each vector key over `five`, three replicas, best first: with one
 * subvolume (indices into five), with 7 and with 16. Fewer replicas are
 * the first of these. */
struct replica_vector {
    int plain[3];
    const char *sv7[3];
    const char *sv16[3];
};

static const struct replica_vector replica_vectors[NVECTORS] = {
    {{0, 4, 2},
     {"localhost:3001/sv04", "localhost:3005/sv03", "localhost:3003/sv04"},
     {"localhost:3001/sv0C", "localhost:3005/sv0D", "localhost:3003/sv07"}},
    {{0, 1, 3},
     {"localhost:3001/sv05", "localhost:3002/sv02", "localhost:3004/sv06"},
     {"localhost:3001/sv0D", "localhost:3002/sv01", "localhost:3004/sv09"}},
    {{3, 0, 4},
     {"localhost:3004/sv00", "localhost:3001/sv01", "localhost:3005/sv00"},
     {"localhost:3004/sv01", "localhost:3001/sv0E", "localhost:3005/sv0F"}},
    {{3, 0, 4},
     {"localhost:3004/sv01", "localhost:3001/sv06", "localhost:3005/sv03"},
     {"localhost:3004/sv0D", "localhost:3001/sv02", "localhost:3005/sv0E"}},
    {{1, 3, 2},
     {"localhost:3002/sv05", "localhost:3004/sv06", "localhost:3003/sv01"},
     {"localhost:3002/sv0A", "localhost:3004/sv09", "localhost:3003/sv06"}},
    {{0, 2, 3},
     {"localhost:3001/sv00", "localhost:3003/sv04", "localhost:3004/sv01"},
     {"localhost:3001/sv04", "localhost:3003/sv0B", "localhost:3004/sv06"}},
    {{0, 2, 4},
     {"localhost:3001/sv05", "localhost:3003/sv03", "localhost:3005/sv04"},
     {"localhost:3001/sv04", "localhost:3003/sv0A", "localhost:3005/sv02"}},
    {{0, 1, 2},
     {"localhost:3001/sv01", "localhost:3002/sv02", "localhost:3003/sv03"},
     {"localhost:3001/sv00", "localhost:3002/sv01", "localhost:3003/sv0F"}},
    {{4, 2, 0},
     {"localhost:3005/sv00", "localhost:3003/sv00", "localhost:3001/sv01"},
     {"localhost:3005/sv0B", "localhost:3003/sv05", "localhost:3001/sv09"}},
    {{4, 0, 2},
     {"localhost:3005/sv01", "localhost:3001/sv02", "localhost:3003/sv02"},
     {"localhost:3005/sv07", "localhost:3001/sv07", "localhost:3003/sv09"}},
    {{1, 2, 0},
     {"localhost:3002/sv03", "localhost:3003/sv00", "localhost:3001/sv02"},
     {"localhost:3002/sv0F", "localhost:3003/sv04", "localhost:3001/sv07"}},
    {{3, 4, 1},
     {"localhost:3004/sv04", "localhost:3005/sv06", "localhost:3002/sv06"},
     {"localhost:3004/sv0A", "localhost:3005/sv08", "localhost:3002/sv0B"}},
    {{2, 4, 3},
     {"localhost:3003/sv00", "localhost:3005/sv00", "localhost:3004/sv01"},
     {"localhost:3003/sv0C", "localhost:3005/sv05", "localhost:3004/sv00"}},
    {{3, 2, 1},
     {"localhost:3004/sv00", "localhost:3003/sv01", "localhost:3002/sv01"},
     {"localhost:3004/sv0E", "localhost:3003/sv0E", "localhost:3002/sv09"}},
    {{2, 0, 3},
     {"localhost:3003/sv04", "localhost:3001/sv05", "localhost:3004/sv04"},
     {"localhost:3003/sv0B", "localhost:3001/sv08", "localhost:3004/sv07"}},
    {{2, 4, 1},
     {"localhost:3003/sv00", "localhost:3005/sv02", "localhost:3002/sv02"},
     {"localhost:3003/sv08", "localhost:3005/sv09", "localhost:3002/sv00"}},
};

/* Keys pymkv cannot store, spelled as head, then `count` copies of fill,
 * then tail, with the path name(k) gives them. */
struct rewritten {
    const char *head;
    char fill;
    size_t count;
    const char *tail;
    const char *path;
    int pathlen;
};

/* "/" + 189 * "a": one 256-byte segment, cut after 254. */
static const struct rewritten key_190_a = {
    "/", 'a', 189, "",
    "/66/df/L2FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYQ-/"
    "==", 265};

/* 200 * "a" (no leading slash) and "/" + 199 * "a": 268 bytes each. */
static const struct rewritten key_200_a = {
    "", 'a', 200, "",
    "/88/7f/YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYW-/"
    "FhYWFhYWFhYWE=", 277};
static const struct rewritten key_200_slash_a = {
    "/", 'a', 199, "",
    "/e7/a8/L2FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYW-/"
    "FhYWFhYWFhYWE=", 277};

/* "/??" + 192 * "a": "Lz8/", then a 256-byte segment. */
static const struct rewritten key_qq_192_a = {
    "/??", 'a', 192, "",
    "/00/c0/Lz8/"
    "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh"
    "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh"
    "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh"
    "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW-/"
    "Fh", 269};

/* "/" + 190 * "a" + "?": a 255-byte segment (not cut), then a '/' last. */
static const struct rewritten key_255_then_slash = {
    "/", 'a', 190, "?",
    "/b5/db/L2FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWE/"
    "-", 264};

/* "/" + 380 * "a" + "c\xf0a": a 509-byte segment, a '/', "Bh". 509 is
 * 254 + 255: one cut, and the rest fits as it is. */
static const struct rewritten key_509_segment = {
    "/", 'a', 380, "c\xf0" "a",
    "/09/dc/L2FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYW-/"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY/"
    "Bh", 521};

/* "/" + 1023 * "a": the longest key, one 1368-byte segment. */
static const struct rewritten key_1024_a = {
    "/", 'a', 1023, "",
    "/e8/0c/L2FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhY"
    "WFhYW-/"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh-/"
    "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh"
    "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh"
    "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh"
    "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW-/"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh-/"
    "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh"
    "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh"
    "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh"
    "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW-/"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW"
    "FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYQ==", 1385};

/* "/\xff\xff": base64 "L///", two empty segments inside and one last. */
static const struct rewritten key_slash_slash = {
    "/\xff\xff", 0, 0, "",
    "/fd/53/L/"
    "-/"
    "-/"
    "-", 14};

/* "\xff": base64 "/w==" begins with '/'. */
static const struct rewritten key_leading_slash = {
    "\xff", 0, 0, "",
    "/00/59/-/"
    "w==", 12};

/* "/??": base64 "Lz8/" ends with '/'. */
static const struct rewritten key_trailing_slash = {
    "/??", 0, 0, "",
    "/97/86/Lz8/"
    "-", 12};

static const struct rewritten *const rewrites[] = {
    &key_190_a, &key_200_a, &key_200_slash_a, &key_qq_192_a,
    &key_255_then_slash, &key_509_segment, &key_1024_a, &key_slash_slash,
    &key_leading_slash, &key_trailing_slash,
};
#define NREWRITES (sizeof(rewrites) / sizeof(rewrites[0]))

/* Output buffers get GUARD bytes past their contract, which must stay. */
#define GUARD 16
#define GUARD_BYTE 0x5a

/* make_key -- spell r's key into key (MKV_KEY_MAX bytes); its length. */
static size_t make_key(const struct rewritten *r, char *key) {
    size_t hl = strlen(r->head), tl = strlen(r->tail);

    assert_true(hl + r->count + tl <= MKV_KEY_MAX);
    memcpy(key, r->head, hl);
    memset(key + hl, r->fill, r->count);
    memcpy(key + hl + r->count, r->tail, tl);
    return hl + r->count + tl;
}

/* form_path_of -- placement_path in the form given into a guarded
 * buffer; checks the guard and the NUL, returns the length. */
static int form_path_of(const char *key, size_t keylen, int flat,
                        char out[PLACEMENT_PATH_MAX + GUARD]) {
    int n;

    memset(out, GUARD_BYTE, PLACEMENT_PATH_MAX + GUARD);
    n = placement_path(key, keylen, flat, out);
    assert_in_range(n, 7, PLACEMENT_PATH_MAX - 1);
    assert_int_equal(out[n], '\0');
    for (size_t i = PLACEMENT_PATH_MAX; i < PLACEMENT_PATH_MAX + GUARD; i++)
        assert_int_equal((unsigned char)out[i], GUARD_BYTE);
    return n;
}

/* path_of -- the nested path (pymkv's), as form_path_of. */
static int path_of(const char *key, size_t keylen, char out[PLACEMENT_PATH_MAX + GUARD]) {
    return form_path_of(key, keylen, 0, out);
}

/* assert_storable -- every '/'-separated name after "/xx/yy/" is 1..255
 * bytes, as a filesystem needs. */
static void assert_storable(const char *path) {
    const char *p = path + 7;

    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        assert_in_range(len, 1, PLACEMENT_NAME_MAX);
        if (slash == NULL) break;
        p = slash + 1;
    }
}

static void assert_rewritten(const struct rewritten *r) {
    char key[MKV_KEY_MAX], out[PLACEMENT_PATH_MAX + GUARD];
    size_t keylen = make_key(r, key);

    assert_int_equal(strlen(r->path), (size_t)r->pathlen);
    assert_int_equal(path_of(key, keylen, out), r->pathlen);
    assert_string_equal(out, r->path);
    assert_storable(out);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    fail_msg("not a lower-case hex digit: '%c'", c);
    return -1;
}

/* form_unname_path -- placement_unname the NAME of path ("/xx/yy/NAME"),
 * with its directory bytes (or -1, -1) into a guarded buffer; *flat the
 * form found. */
static int form_unname_path(const char *path, int check_dir,
                            char out[MKV_KEY_MAX + GUARD], size_t *outlen, int *flat) {
    char err[MKV_ERRLEN];
    int xx = -1, yy = -1, rc;

    assert_int_equal(path[0], '/');
    assert_int_equal(path[3], '/');
    assert_int_equal(path[6], '/');
    if (check_dir) {
        xx = hexval(path[1]) * 16 + hexval(path[2]);
        yy = hexval(path[4]) * 16 + hexval(path[5]);
    }
    memset(out, GUARD_BYTE, MKV_KEY_MAX + GUARD);
    err[0] = '\0';
    rc = placement_unname(path + 7, strlen(path + 7), xx, yy, out, outlen, flat, err);
    for (size_t i = MKV_KEY_MAX; i < MKV_KEY_MAX + GUARD; i++)
        assert_int_equal((unsigned char)out[i], GUARD_BYTE);
    if (rc != MKV_OK) assert_true(strlen(err) > 0);
    return rc;
}

/* unname_path -- form_unname_path of a nested name: the form found must
 * be the nested one. */
static int unname_path(const char *path, int check_dir,
                       char out[MKV_KEY_MAX + GUARD], size_t *outlen) {
    int flat = -1, rc = form_unname_path(path, check_dir, out, outlen, &flat);
    if (rc == MKV_OK) assert_int_equal(flat, 0);
    return rc;
}

/* assert_round_trip -- path's NAME, in path's directory, is key. */
static void assert_round_trip(const char *path, const char *key,
                              size_t keylen) {
    char out[MKV_KEY_MAX + GUARD];
    size_t outlen = 0;

    assert_int_equal(unname_path(path, 1, out, &outlen), MKV_OK);
    assert_int_equal(outlen, keylen);
    assert_memory_equal(out, key, keylen);
}

/* assert_name_refused -- NAME (namelen bytes) is not one placement_path
 * writes: refused with a reason, whatever directory it is in. */
static void assert_name_refused(const char *name, size_t namelen) {
    char out[MKV_KEY_MAX + GUARD], err[MKV_ERRLEN];
    size_t outlen = 0;
    int flat;

    memset(out, GUARD_BYTE, sizeof(out));
    err[0] = '\0';
    if (placement_unname(name, namelen, -1, -1, out, &outlen, &flat, err) != MKV_ERR)
        fail_msg("name '%.*s' (%zu bytes) was accepted as a %zu-byte key",
                 (int)(namelen > 80 ? 80 : namelen), name, namelen, outlen);
    assert_true(strlen(err) > 0);
    for (size_t i = MKV_KEY_MAX; i < sizeof(out); i++)
        assert_int_equal((unsigned char)out[i], GUARD_BYTE);
}

static void the_vector_table_is_consistent(void **state) {
    (void)state;
    /* Guard the literals themselves: each key's length matches. */
    for (size_t i = 0; i < NVECTORS; i++) {
        assert_int_equal(strlen(vectors[i].key), vectors[i].keylen);
        assert_int_equal(strlen(vectors[i].path), (size_t)vectors[i].pathlen);
        /* One replica, one subvolume: pymkv's volume over five. */
        assert_int_equal(replica_vectors[i].plain[0], vectors[i].volume[3]);
        assert_int_equal(five_ranks[i][0], vectors[i].volume[3]);
    }
    assert_true(NVECTORS >= 12);
}

static void a_single_volume_holds_every_key(void **state) {
    (void)state;
    for (size_t i = 0; i < NVECTORS; i++)
        assert_int_equal(placement_volume(one, 1, vectors[i].key,
                                          vectors[i].keylen), 0);
}

static void each_key_goes_to_the_volume_pymkv_picks(void **state) {
    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        for (size_t s = 0; s < NSETS; s++) {
            int got = placement_volume(sets[s].volumes, sets[s].n,
                                       vectors[i].key, vectors[i].keylen);
            if (got != vectors[i].volume[s])
                print_error("key %zu (%s) over set %zu: want %d, got %d\n",
                            i, vectors[i].key, s, vectors[i].volume[s], got);
            assert_int_equal(got, vectors[i].volume[s]);
        }
    }
}

static void the_order_of_the_volume_list_does_not_change_the_volume(void **state) {
    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        /* sets[3] is the five-volume set. */
        const char *want = five[vectors[i].volume[3]];
        int got = placement_volume(five_shuffled, 5, vectors[i].key,
                                   vectors[i].keylen);
        assert_in_range(got, 0, 4);
        assert_string_equal(five_shuffled[got], want);
    }
}

static void the_first_of_two_equal_volumes_wins_a_tie(void **state) {
    static char *twice[] = {"localhost:3001", "localhost:3002", "localhost:3002"};
    static char *first[] = {"localhost:3002", "localhost:3002", "localhost:3001"};

    (void)state;
    /* "/hello" goes to localhost:3002 over {3001, 3002}; listed twice,
     * both copies score the same and the first copy is chosen. */
    assert_int_equal(placement_volume(twice, 3, "/hello", 6), 1);
    assert_int_equal(placement_volume(first, 3, "/hello", 6), 0);
}

static void volumes_are_ranked_by_md5_highest_first(void **state) {
    int ranks[5];

    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        memset(ranks, 0xff, sizeof(ranks));
        placement_rank(five, 5, vectors[i].key, vectors[i].keylen, ranks);
        for (int j = 0; j < 5; j++) {
            if (ranks[j] != five_ranks[i][j])
                print_error("key %zu (%s) rank %d: want %d, got %d\n", i,
                            vectors[i].key, j, five_ranks[i][j], ranks[j]);
            assert_int_equal(ranks[j], five_ranks[i][j]);
        }
    }
}

static void equal_volumes_are_ranked_in_the_order_listed(void **state) {
    static char *middle[] = {"localhost:3002", "localhost:3001", "localhost:3002"};
    static char *last[] = {"localhost:3001", "localhost:3002", "localhost:3002"};
    int ranks[3];

    (void)state;
    /* md5("localhost:3002/hello") begins f8e4..., "localhost:3001/hello"
     * 3f1f...: both copies of 3002 first, the earlier one before. */
    placement_rank(middle, 3, "/hello", 6, ranks);
    assert_int_equal(ranks[0], 0);
    assert_int_equal(ranks[1], 2);
    assert_int_equal(ranks[2], 1);
    placement_rank(last, 3, "/hello", 6, ranks);
    assert_int_equal(ranks[0], 1);
    assert_int_equal(ranks[1], 2);
    assert_int_equal(ranks[2], 0);
}

/* replicas_of -- placement_replicas into four guarded rows; checks the
 * rows past `replicas` are untouched. */
static void replicas_of(const struct vector *v, int replicas, int subvolumes,
                        char out[4][PLACEMENT_VOLUME_MAX + 8]) {
    memset(out, GUARD_BYTE, 4 * (PLACEMENT_VOLUME_MAX + 8));
    placement_replicas(five, 5, replicas, subvolumes, v->key, v->keylen, out);
    for (int r = replicas; r < 4; r++)
        for (size_t b = 0; b < PLACEMENT_VOLUME_MAX + 8; b++)
            assert_int_equal((unsigned char)out[r][b], GUARD_BYTE);
}

static void replicas_with_one_subvolume_are_the_best_ranked_volumes(void **state) {
    char out[4][PLACEMENT_VOLUME_MAX + 8];

    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        for (int replicas = 1; replicas <= 3; replicas++) {
            replicas_of(&vectors[i], replicas, 1, out);
            for (int r = 0; r < replicas; r++)
                assert_string_equal(out[r], five[replica_vectors[i].plain[r]]);
        }
    }
}

static void seven_subvolumes_add_an_upper_case_hex_suffix(void **state) {
    char out[4][PLACEMENT_VOLUME_MAX + 8];

    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        for (int replicas = 1; replicas <= 3; replicas++) {
            replicas_of(&vectors[i], replicas, 7, out);
            for (int r = 0; r < replicas; r++)
                assert_string_equal(out[r], replica_vectors[i].sv7[r]);
        }
    }
}

static void sixteen_subvolumes_add_an_upper_case_hex_suffix(void **state) {
    char out[4][PLACEMENT_VOLUME_MAX + 8];

    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        for (int replicas = 1; replicas <= 3; replicas++) {
            replicas_of(&vectors[i], replicas, 16, out);
            for (int r = 0; r < replicas; r++)
                assert_string_equal(out[r], replica_vectors[i].sv16[r]);
        }
    }
}

static void two_hundred_fifty_six_subvolumes_use_both_hex_digits(void **state) {
    static const struct {
        const char *key;
        const char *want[3];
    } cases[] = {
        {"/wehave", {"localhost:3001/svFC", "localhost:3005/svDD",
                     "localhost:3003/sv97"}},
        {"/hello", {"localhost:3002/sv3F", "localhost:3003/svC4",
                    "localhost:3001/svD7"}},
        {"/b", {"localhost:3003/sv1B", "localhost:3001/svF8",
                "localhost:3004/sv87"}},
    };
    char out[3][PLACEMENT_VOLUME_MAX + 8];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        placement_replicas(five, 5, 3, 256, cases[i].key,
                           strlen(cases[i].key), out);
        for (int r = 0; r < 3; r++)
            assert_string_equal(out[r], cases[i].want[r]);
    }
}

static void the_longest_volume_string_keeps_its_whole_suffix(void **state) {
    char volume[PLACEMENT_VOLUME_MAX + 1], want[PLACEMENT_VOLUME_MAX + 8];
    char *volumes[1] = {volume};
    char out[1][PLACEMENT_VOLUME_MAX + 8];

    (void)state;
    /* 245 * "h" + ":3001": 250 bytes; "/wehave" on it gets "/sv08" of 16
     * subvolumes and "/sv68" of 256. */
    memset(volume, 'h', 245);
    strcpy(volume + 245, ":3001");
    assert_int_equal(strlen(volume), PLACEMENT_VOLUME_MAX);
    placement_replicas(volumes, 1, 1, 16, "/wehave", 7, out);
    strcpy(want, volume);
    strcat(want, "/sv08");
    assert_string_equal(out[0], want);
    placement_replicas(volumes, 1, 1, 256, "/wehave", 7, out);
    strcpy(want + PLACEMENT_VOLUME_MAX, "/sv68");
    assert_string_equal(out[0], want);
}

static void each_key_is_stored_at_pymkvs_path(void **state) {
    char out[PLACEMENT_PATH_MAX + GUARD];

    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        assert_int_equal(path_of(vectors[i].key, vectors[i].keylen, out),
                         vectors[i].pathlen);
        assert_string_equal(out, vectors[i].path);
    }
}

static void only_keylen_bytes_of_the_key_count(void **state) {
    char out[PLACEMENT_PATH_MAX + GUARD];

    (void)state;
    /* The first six bytes of "/hello world" are the key "/hello". */
    assert_int_equal(placement_volume(five, 5, "/hello world", 6), 1);
    assert_int_equal(path_of("/hello world", 6, out), 15);
    assert_string_equal(out, "/3e/d1/L2hlbGxv");
}

/* key_of -- key = "/" followed by n-1 copies of c. */
static void key_of(char *key, size_t n, char c) {
    key[0] = '/';
    memset(key + 1, c, n - 1);
}

static void a_189_byte_key_fits_in_one_252_byte_name(void **state) {
    char key[189], want[PLACEMENT_PATH_MAX], out[PLACEMENT_PATH_MAX + GUARD];

    (void)state;
    /* base64("/" + 188 * "a") = "L2Fh" + 62 * "YWFh": 252 bytes, no '/'
     * (checked with Python), the longest name base64 can make <= 255. */
    key_of(key, sizeof(key), 'a');
    strcpy(want, "/35/63/L2Fh");
    for (int i = 0; i < 62; i++)
        strcat(want, "YWFh");
    assert_int_equal(strlen(want), 7 + 252);
    assert_int_equal(path_of(key, sizeof(key), out), 259);
    assert_string_equal(out, want);
    assert_round_trip(out, key, sizeof(key));
}

static void a_190_byte_key_is_cut_after_254_bytes_of_its_name(void **state) {
    (void)state;
    assert_rewritten(&key_190_a);
}

static void a_200_byte_key_of_the_letter_a_is_cut_after_254_bytes(void **state) {
    (void)state;
    assert_rewritten(&key_200_a);
    assert_rewritten(&key_200_slash_a);
}

static void a_slash_in_the_base64_splits_the_name(void **state) {
    char key[192], want[PLACEMENT_PATH_MAX], out[PLACEMENT_PATH_MAX + GUARD];

    (void)state;
    /* base64("/??" + 189 * "a") = "Lz8/" + 63 * "YWFh": 256 bytes in
     * all, but names of 3 and 252 bytes, so it is pymkv's path. */
    memcpy(key, "/??", 3);
    memset(key + 3, 'a', sizeof(key) - 3);
    strcpy(want, "/0a/e3/Lz8/");
    for (int i = 0; i < 63; i++)
        strcat(want, "YWFh");
    assert_int_equal(path_of(key, sizeof(key), out), 263);
    assert_string_equal(out, want);
    assert_round_trip(out, key, sizeof(key));
}

static void a_name_after_a_slash_longer_than_255_is_cut(void **state) {
    (void)state;
    assert_rewritten(&key_qq_192_a);
}

static void a_255_byte_segment_is_not_cut(void **state) {
    (void)state;
    assert_rewritten(&key_255_then_slash);
}

static void a_509_byte_segment_is_cut_once_and_ends_in_255_bytes(void **state) {
    (void)state;
    assert_rewritten(&key_509_segment);
}

static void the_longest_key_of_one_letter_is_cut_into_six_names(void **state) {
    (void)state;
    assert_rewritten(&key_1024_a);
}

static void empty_segments_inside_the_base64_are_written_as_dashes(void **state) {
    (void)state;
    assert_rewritten(&key_slash_slash);
}

static void a_slash_first_in_the_base64_is_written_as_a_dash(void **state) {
    (void)state;
    assert_rewritten(&key_leading_slash);
}

static void a_slash_last_in_the_base64_is_written_as_a_dash(void **state) {
    (void)state;
    assert_rewritten(&key_trailing_slash);
}

static void a_key_whose_base64_has_a_slash_every_fourth_byte(void **state) {
    char key[MKV_KEY_MAX], want[PLACEMENT_PATH_MAX];
    char out[PLACEMENT_PATH_MAX + GUARD];

    (void)state;
    /* base64("/" + 1023 * "?") = "Lz8/" + 340 * "Pz8/" + "Pw==": 1368
     * bytes, a '/' every fourth, so every name is short: pymkv's path. */
    key_of(key, sizeof(key), '?');
    strcpy(want, "/de/c0/Lz8/");
    for (int i = 0; i < 340; i++)
        strcat(want, "Pz8/");
    strcat(want, "Pw==");
    assert_int_equal(path_of(key, sizeof(key), out), 1375);
    assert_string_equal(out, want);
    assert_round_trip(out, key, sizeof(key));
}

/* The key with the longest path: 1024 bytes 0xff, whose base64 is 1365
 * slashes and "w==" (Python: path is "/9a/89/" + "-/" * 1365 + "w==",
 * 2740 bytes). */
static void worst_key_for_the_path_buffer(char *key, char *want) {
    memset(key, 0xff, MKV_KEY_MAX);
    strcpy(want, "/9a/89/");
    for (int i = 0; i < 1365; i++)
        strcat(want, "-/");
    strcat(want, "w==");
    assert_int_equal(strlen(want), 2740);
}

static void a_key_of_slashes_only_fits_the_path_buffer(void **state) {
    char key[MKV_KEY_MAX], want[PLACEMENT_PATH_MAX];
    char out[PLACEMENT_PATH_MAX + GUARD];

    (void)state;
    worst_key_for_the_path_buffer(key, want);
    assert_int_equal(path_of(key, sizeof(key), out), 2740);
    assert_string_equal(out, want);
    assert_storable(out);
}

static void every_vector_key_comes_back_from_its_name(void **state) {
    char out[MKV_KEY_MAX + GUARD];
    size_t outlen;

    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        for (int check_dir = 0; check_dir <= 1; check_dir++) {
            outlen = 0;
            assert_int_equal(unname_path(vectors[i].path, check_dir, out,
                                         &outlen), MKV_OK);
            assert_int_equal(outlen, vectors[i].keylen);
            assert_memory_equal(out, vectors[i].key, outlen);
        }
    }
}

static void every_rewritten_name_comes_back_to_its_key(void **state) {
    char key[MKV_KEY_MAX], out[MKV_KEY_MAX + GUARD];
    size_t keylen, outlen;

    (void)state;
    for (size_t i = 0; i < NREWRITES; i++) {
        keylen = make_key(rewrites[i], key);
        for (int check_dir = 0; check_dir <= 1; check_dir++) {
            outlen = 0;
            assert_int_equal(unname_path(rewrites[i]->path, check_dir, out,
                                         &outlen), MKV_OK);
            assert_int_equal(outlen, keylen);
            assert_memory_equal(out, key, keylen);
        }
    }
}

static void the_key_of_slashes_only_comes_back_from_its_name(void **state) {
    char key[MKV_KEY_MAX], want[PLACEMENT_PATH_MAX];
    char out[MKV_KEY_MAX + GUARD];
    size_t outlen = 0;

    (void)state;
    worst_key_for_the_path_buffer(key, want);
    assert_int_equal(unname_path(want, 1, out, &outlen), MKV_OK);
    assert_int_equal(outlen, MKV_KEY_MAX);
    assert_memory_equal(out, key, MKV_KEY_MAX);
}

static void a_name_in_the_wrong_directory_is_refused(void **state) {
    char out[MKV_KEY_MAX + GUARD], err[MKV_ERRLEN];
    size_t outlen = 0;
    int flat;

    (void)state;
    /* "/wehave" lives in /60/08/. */
    err[0] = '\0';
    assert_int_equal(placement_unname("L3dlaGF2ZQ==", 12, 0x60, 0x09, out,
                                      &outlen, &flat, err), MKV_ERR);
    assert_true(strlen(err) > 0);
    err[0] = '\0';
    assert_int_equal(placement_unname("L3dlaGF2ZQ==", 12, 0x61, 0x08, out,
                                      &outlen, &flat, err), MKV_ERR);
    assert_true(strlen(err) > 0);
    /* A rewritten name is checked the same way: "\xff" is in /00/59/. */
    err[0] = '\0';
    assert_int_equal(placement_unname("-/w==", 5, 0x59, 0x00, out, &outlen,
                                      &flat, err), MKV_ERR);
    assert_true(strlen(err) > 0);
}

static void an_empty_name_is_refused(void **state) {
    (void)state;
    assert_name_refused("", 0);
}

static void names_that_are_not_base64_are_refused(void **state) {
    static const char *const bad[] = {
        "Lw=",           /* not a multiple of four */
        "L w==",         /* a space */
        "Lw==Lw==",      /* padding before the end */
        "L===",          /* too much padding */
        "L2E=L2E=",      /* padding before the end */
        "L2E-",          /* '-' inside a segment */
        "L2E.",          /* a byte base64 never uses */
        "L3dl-/aGF2ZQ==", /* '-' ending a short piece is not a cut */
        "--",            /* not the empty segment */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_name_refused(bad[i], strlen(bad[i]));
    /* A NUL inside the name. */
    assert_name_refused("Lw==\0", 5);
    assert_name_refused("L\0==", 4);
}

static void base64_with_non_zero_padding_bits_is_refused(void **state) {
    (void)state;
    /* "L2F=" decodes to "/a" as "L2E=" does, but its last two bits are
     * set (F = 5): only "L2E=" is the name of "/a". Likewise "Lx==" for
     * "/" (x = 49, low four bits set), whose name is "Lw==". */
    assert_name_refused("L2F=", 4);
    assert_name_refused("Lx==", 4);
}

static void empty_segments_not_written_as_dashes_are_refused(void **state) {
    (void)state;
    /* The names of "/\xff\xff", "\xff" and "/??" are "L/-/-/-", "-/w=="
     * and "Lz8/-"; written with bare slashes they are not names. */
    assert_name_refused("L///", 4);
    assert_name_refused("L/-//", 5);
    assert_name_refused("/w==", 4);
    assert_name_refused("Lz8/", 4);
    /* Nor is a '/' after the last name, or a dash for a segment that is
     * not empty. */
    assert_name_refused("Lw==/", 5);
    assert_name_refused("Lw==/-", 6);
    assert_name_refused("-", 1);
    assert_name_refused("-/-", 3);
}

static void a_cut_piece_as_the_last_name_is_refused(void **state) {
    char name[PLACEMENT_PATH_MAX];

    (void)state;
    /* The first 255 bytes of key_190_a's name: 254 bytes and "-", with
     * nothing to join it to. */
    memcpy(name, key_190_a.path + 7, 255);
    assert_int_equal(name[254], '-');
    assert_name_refused(name, 255);
    /* The same with the rest after a '/' but a dash too many. */
    memcpy(name + 255, "/-/==", 5);
    assert_name_refused(name, 260);
}

static void a_needless_cut_is_refused(void **state) {
    char name[PLACEMENT_PATH_MAX];
    const char *canon = key_255_then_slash.path + 7;

    (void)state;
    /* key_255_then_slash's name is a 255-byte segment then "/-"; cut it
     * after 254 bytes and it still joins to the same base64, but
     * placement_path would never cut a 255-byte segment. */
    assert_int_equal(strlen(canon), 257);
    memcpy(name, canon, 254);
    memcpy(name + 254, "-/", 2);
    memcpy(name + 256, canon + 254, 3);
    assert_name_refused(name, 259);
}

static void a_cut_in_the_wrong_place_is_refused(void **state) {
    char name[PLACEMENT_PATH_MAX];
    const char *canon = key_509_segment.path + 7;

    (void)state;
    /* key_509_segment's name is 254 + "-/" + 255 + "/Bh". Cut the 509
     * bytes as 254, 254 and 1 instead: it joins to the same base64, but
     * is not what placement_path writes. */
    assert_int_equal(strlen(canon), 514);
    memcpy(name, canon, 256);                 /* 254 bytes, "-/" */
    memcpy(name + 256, canon + 256, 254);     /* 254 more */
    memcpy(name + 510, "-/", 2);
    memcpy(name + 512, canon + 510, 4);       /* the last byte, "/Bh" */
    assert_name_refused(name, 516);
}

static void a_name_of_a_key_longer_than_the_limit_is_refused(void **state) {
    char name[PLACEMENT_PATH_MAX];
    const char *canon = key_1024_a.path + 7;
    size_t len = strlen(canon);

    (void)state;
    /* key_1024_a's name ends "YQ=="; ending it "YWE=" or "YWFh" instead
     * gives the names of "/" + 1024 * "a" and "/" + 1025 * "a" (checked
     * with Python): keys of 1025 and 1026 bytes, over MKV_KEY_MAX. */
    assert_int_equal(len, 1378);
    memcpy(name, canon, len);
    assert_memory_equal(name + len - 4, "YQ==", 4);
    memcpy(name + len - 4, "YWE=", 4);
    assert_name_refused(name, len);
    memcpy(name + len - 4, "YWFh", 4);
    assert_name_refused(name, len);
}

static void a_very_long_name_is_refused(void **state) {
    char name[3 * PLACEMENT_PATH_MAX];

    (void)state;
    /* "-/-/-/...": more empty segments than any key's base64 has. */
    for (size_t i = 0; i + 1 < sizeof(name); i += 2)
        memcpy(name + i, "-/", 2);
    name[sizeof(name) - 1] = '-';
    assert_name_refused(name, sizeof(name));
    /* And base64 letters, longer than any key's. */
    memset(name, 'A', sizeof(name));
    assert_name_refused(name, sizeof(name) - sizeof(name) % 4);
}

/* The flat form (placement.h): the base64's '/' written '_'. Expected
 * paths from Python: base64.b64encode(k).replace(b"/", b"_") in
 * "/%02x/%02x/" of hashlib.md5(k), cut like the nested form. */

static void keys_whose_base64_has_a_slash_nest_and_others_do_not(void **state) {
    (void)state;
    assert_int_equal(placement_nests("/wehave", 7), 0);
    assert_int_equal(placement_nests("/qx", 3), 0);
    assert_int_equal(placement_nests("/a?", 3), 1);          /* L2E/ */
    assert_int_equal(placement_nests("/qx\xff/Cz", 7), 1);   /* L3F4/y9Deg== */
}

static void the_flat_name_writes_each_slash_as_an_underscore(void **state) {
    char out[PLACEMENT_PATH_MAX + GUARD];

    (void)state;
    assert_int_equal(form_path_of("/qx\xff/Cz", 7, 1, out), 19);
    assert_string_equal(out, "/71/da/L3F4_y9Deg==");
    assert_int_equal(form_path_of("/a?", 3, 1, out), 11);
    assert_string_equal(out, "/fa/8a/L2E_");
    assert_int_equal(form_path_of("/\xff\xff\xff", 4, 1, out), 15);
    assert_string_equal(out, "/85/8f/L____w==");
    /* Without a '/' in the base64 both forms are pymkv's name. */
    assert_int_equal(form_path_of("/wehave", 7, 1, out), 19);
    assert_string_equal(out, "/60/08/L3dlaGF2ZQ==");
}

static void the_longest_key_of_0xff_bytes_has_a_flat_name_of_six_pieces(void **state) {
    char key[MKV_KEY_MAX], out[PLACEMENT_PATH_MAX + GUARD];
    size_t lens[8], n = 0;
    const char *p;

    (void)state;
    key[0] = '/';
    memset(key + 1, 0xff, MKV_KEY_MAX - 1);
    assert_int_equal(form_path_of(key, MKV_KEY_MAX, 1, out), 1385);
    assert_memory_equal(out, "/03/07/L____", 12);
    assert_string_equal(out + 1375, "_______w==");
    assert_storable(out);
    for (p = out + 7; n < 8; n++) {
        const char *slash = strchr(p, '/');
        lens[n] = slash ? (size_t)(slash - p) : strlen(p);
        if (slash == NULL) break;
        assert_int_equal(slash[-1], '-');
        p = slash + 1;
    }
    assert_int_equal(n + 1, 6);
    for (size_t i = 0; i < 5; i++) assert_int_equal(lens[i], 255);
    assert_int_equal(lens[5], 98);
}

static void flat_names_come_back_to_their_key_and_form(void **state) {
    static const struct {
        const char *key;
        size_t keylen;
        int flat;
    } keys[] = {
        {"/qx\xff/Cz", 7, 1}, {"/a?", 3, 1}, {"/\xff\xff\xff", 4, 1}, {"/wehave", 7, 0},
    };
    char key[MKV_KEY_MAX], path[PLACEMENT_PATH_MAX + GUARD], out[MKV_KEY_MAX + GUARD];
    size_t outlen;
    int flat;

    (void)state;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        form_path_of(keys[i].key, keys[i].keylen, 1, path);
        flat = -1;
        assert_int_equal(form_unname_path(path, 1, out, &outlen, &flat), MKV_OK);
        assert_int_equal(flat, keys[i].flat);
        assert_int_equal(outlen, keys[i].keylen);
        assert_memory_equal(out, keys[i].key, outlen);
    }
    key[0] = '/';
    memset(key + 1, 0xff, MKV_KEY_MAX - 1);
    form_path_of(key, MKV_KEY_MAX, 1, path);
    assert_int_equal(form_unname_path(path, 1, out, &outlen, &flat), MKV_OK);
    assert_int_equal(flat, 1);
    assert_int_equal(outlen, MKV_KEY_MAX);
    assert_memory_equal(out, key, MKV_KEY_MAX);
}

static void names_that_mix_the_two_forms_are_refused(void **state) {
    (void)state;
    assert_name_refused("L2E_/-", 6);            /* '_' and an empty segment */
    assert_name_refused("L3F4_y9D/eg==", 13);    /* '_' and a nesting '/' */
    assert_name_refused("L2E_-", 5);
    assert_name_refused("_", 1);
    assert_name_refused("___=", 4);              /* "///=": bits past the end */
}

/* at_or_above -- path a is path b, or a directory above it. */
static int at_or_above(const char *a, const char *b) {
    size_t n = strlen(a);
    return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

/* Pairs from tests/integration/collide.py 4: md5 agrees on two bytes, and
 * the first key's nested path is a directory of the second's. */
static const struct {
    const char *a, *b;
    size_t alen, blen;
} pairs[] = {
    {"/c0", "/c0\xff" "60015", 3, 9},
    {"/1?", "/1?\xff" "126448", 3, 10},
    {"/c2", "/c2\xff" "206501", 3, 10},
    {"/3?", "/3?\xff" "112185", 3, 10},
};

/* new_path -- where a new write of key goes. */
static void new_path(const char *key, size_t keylen, char out[PLACEMENT_PATH_MAX + GUARD]) {
    form_path_of(key, keylen, placement_nests(key, keylen), out);
}

static void colliding_pairs_share_a_path_only_in_the_nested_form(void **state) {
    char pa[PLACEMENT_PATH_MAX + GUARD], pb[PLACEMENT_PATH_MAX + GUARD];

    (void)state;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        path_of(pairs[i].a, pairs[i].alen, pa);
        path_of(pairs[i].b, pairs[i].blen, pb);
        if (!at_or_above(pa, pb) || strcmp(pa, pb) == 0)
            fail_msg("pair %zu: nested %s is not a directory of %s", i, pa, pb);
        new_path(pairs[i].a, pairs[i].alen, pa);
        new_path(pairs[i].b, pairs[i].blen, pb);
        if (at_or_above(pa, pb) || at_or_above(pb, pa))
            fail_msg("pair %zu: new paths %s and %s meet", i, pa, pb);
    }
}

/* Keys for the property below: every key of one to four bytes from
 * bytes that make '/' (and '+', and long runs) in base64, the vectors,
 * the pairs and the 1024-byte keys of one byte. */
#define NSMALL (6 + 36 + 216 + 1296)
#define NPROP (NSMALL + NVECTORS + 2 * 4 + 3)

static char prop_names[NPROP][PLACEMENT_PATH_MAX + GUARD];
static char prop_nested[NPROP][PLACEMENT_PATH_MAX + GUARD];
static int prop_nests[NPROP];
static char prop_keys[NPROP][MKV_KEY_MAX];
static size_t prop_lens[NPROP];

static void add_prop(size_t *n, const char *key, size_t keylen) {
    assert_true(*n < NPROP);
    memcpy(prop_keys[*n], key, keylen);
    prop_lens[*n] = keylen;
    new_path(key, keylen, prop_names[*n]);
    path_of(key, keylen, prop_nested[*n]);
    prop_nests[*n] = placement_nests(key, keylen);
    (*n)++;
}

static void no_new_name_is_another_keys_name_or_a_directory_above_it(void **state) {
    static const char bytes[] = {0x2f, 0x3f, (char)0xff, (char)0xfc, 'a', 0x00};
    static char key[MKV_KEY_MAX];
    size_t n = 0;

    (void)state;
    for (size_t len = 1; len <= 4; len++) {
        size_t count = 1;
        for (size_t i = 0; i < len; i++) count *= sizeof(bytes);
        for (size_t c = 0; c < count; c++) {
            size_t v = c;
            for (size_t i = 0; i < len; i++, v /= sizeof(bytes)) key[i] = bytes[v % sizeof(bytes)];
            add_prop(&n, key, len);
        }
    }
    for (size_t i = 0; i < NVECTORS; i++) add_prop(&n, vectors[i].key, vectors[i].keylen);
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        add_prop(&n, pairs[i].a, pairs[i].alen);
        add_prop(&n, pairs[i].b, pairs[i].blen);
    }
    for (int b = 0; b < 3; b++) {
        key[0] = '/';
        memset(key + 1, "\xff\x3fL"[b], MKV_KEY_MAX - 1);
        add_prop(&n, key, MKV_KEY_MAX);
    }
    assert_int_equal(n, NPROP);
    /* Names alone, without "/xx/yy/": stronger than whole paths. */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            if (prop_lens[i] == prop_lens[j] &&
                memcmp(prop_keys[i], prop_keys[j], prop_lens[i]) == 0)
                continue; /* the same key (the vectors have a few of the others) */
            if (at_or_above(prop_names[i] + 7, prop_names[j] + 7))
                fail_msg("new names meet: %.60s and %.60s", prop_names[i] + 7,
                         prop_names[j] + 7);
            /* A flat name never meets an old nested one either way; a
             * name that is the same in both forms may (placement.h). */
            if (!prop_nests[i] || !prop_nests[j]) continue;
            if (at_or_above(prop_names[i] + 7, prop_nested[j] + 7) ||
                at_or_above(prop_nested[j] + 7, prop_names[i] + 7))
                fail_msg("flat %.60s meets nested %.60s", prop_names[i] + 7,
                         prop_nested[j] + 7);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_vector_table_is_consistent),
        cmocka_unit_test(a_single_volume_holds_every_key),
        cmocka_unit_test(each_key_goes_to_the_volume_pymkv_picks),
        cmocka_unit_test(the_order_of_the_volume_list_does_not_change_the_volume),
        cmocka_unit_test(the_first_of_two_equal_volumes_wins_a_tie),
        cmocka_unit_test(volumes_are_ranked_by_md5_highest_first),
        cmocka_unit_test(equal_volumes_are_ranked_in_the_order_listed),
        cmocka_unit_test(replicas_with_one_subvolume_are_the_best_ranked_volumes),
        cmocka_unit_test(seven_subvolumes_add_an_upper_case_hex_suffix),
        cmocka_unit_test(sixteen_subvolumes_add_an_upper_case_hex_suffix),
        cmocka_unit_test(two_hundred_fifty_six_subvolumes_use_both_hex_digits),
        cmocka_unit_test(the_longest_volume_string_keeps_its_whole_suffix),
        cmocka_unit_test(each_key_is_stored_at_pymkvs_path),
        cmocka_unit_test(only_keylen_bytes_of_the_key_count),
        cmocka_unit_test(a_189_byte_key_fits_in_one_252_byte_name),
        cmocka_unit_test(a_190_byte_key_is_cut_after_254_bytes_of_its_name),
        cmocka_unit_test(a_200_byte_key_of_the_letter_a_is_cut_after_254_bytes),
        cmocka_unit_test(a_slash_in_the_base64_splits_the_name),
        cmocka_unit_test(a_name_after_a_slash_longer_than_255_is_cut),
        cmocka_unit_test(a_255_byte_segment_is_not_cut),
        cmocka_unit_test(a_509_byte_segment_is_cut_once_and_ends_in_255_bytes),
        cmocka_unit_test(the_longest_key_of_one_letter_is_cut_into_six_names),
        cmocka_unit_test(empty_segments_inside_the_base64_are_written_as_dashes),
        cmocka_unit_test(a_slash_first_in_the_base64_is_written_as_a_dash),
        cmocka_unit_test(a_slash_last_in_the_base64_is_written_as_a_dash),
        cmocka_unit_test(a_key_whose_base64_has_a_slash_every_fourth_byte),
        cmocka_unit_test(a_key_of_slashes_only_fits_the_path_buffer),
        cmocka_unit_test(every_vector_key_comes_back_from_its_name),
        cmocka_unit_test(every_rewritten_name_comes_back_to_its_key),
        cmocka_unit_test(the_key_of_slashes_only_comes_back_from_its_name),
        cmocka_unit_test(a_name_in_the_wrong_directory_is_refused),
        cmocka_unit_test(an_empty_name_is_refused),
        cmocka_unit_test(names_that_are_not_base64_are_refused),
        cmocka_unit_test(base64_with_non_zero_padding_bits_is_refused),
        cmocka_unit_test(empty_segments_not_written_as_dashes_are_refused),
        cmocka_unit_test(a_cut_piece_as_the_last_name_is_refused),
        cmocka_unit_test(a_needless_cut_is_refused),
        cmocka_unit_test(a_cut_in_the_wrong_place_is_refused),
        cmocka_unit_test(a_name_of_a_key_longer_than_the_limit_is_refused),
        cmocka_unit_test(a_very_long_name_is_refused),
        cmocka_unit_test(keys_whose_base64_has_a_slash_nest_and_others_do_not),
        cmocka_unit_test(the_flat_name_writes_each_slash_as_an_underscore),
        cmocka_unit_test(the_longest_key_of_0xff_bytes_has_a_flat_name_of_six_pieces),
        cmocka_unit_test(flat_names_come_back_to_their_key_and_form),
        cmocka_unit_test(names_that_mix_the_two_forms_are_refused),
        cmocka_unit_test(colliding_pairs_share_a_path_only_in_the_nested_form),
        cmocka_unit_test(no_new_name_is_another_keys_name_or_a_directory_above_it),
    };
    return cmocka_run_group_tests_name("placement", tests, NULL, NULL);
}
