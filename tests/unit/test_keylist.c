/* test_keylist.c -- the ordered key list that listing walks, on a real
 * LevelDB database in a temporary directory: membership, keys by prefix
 * and start in unsigned byte order (a prefix first), the three sets,
 * walks longer than a batch, and the stamp that says it can be trusted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

#include "keylist.h"
#include "mkv.h"

/* The live set, driven as a set with a count, so each test below can say
 * what it expects: keyset_add/remove ask the list itself whether the key
 * is there (an exact walk) before changing it. */
struct keyset {
    size_t count;
};

static int is_exact;
static const char *exact_key;
static size_t exact_len;

static int exact(const char *key, size_t keylen, void *arg) {
    (void)arg;
    is_exact = keylen == exact_len && memcmp(key, exact_key, keylen) == 0;
    return 1;
}

/* present -- is key in set? */
static int present(enum keylist_set set, const char *key, size_t keylen) {
    char err[MKV_ERRLEN];
    is_exact = 0;
    exact_key = key;
    exact_len = keylen;
    assert_int_equal(keylist_each(set, key, keylen, NULL, 0, 0, exact, NULL, err), MKV_OK);
    return is_exact;
}

static int keyset_add(struct keyset *ks, const char *key, size_t keylen) {
    char err[MKV_ERRLEN];
    if (present(KEYLIST_LIVE, key, keylen)) return 0;
    assert_int_equal(keylist_set(key, keylen, KEYLIST_LIVE, err), MKV_OK);
    ks->count++;
    return 1;
}

static int keyset_remove(struct keyset *ks, const char *key, size_t keylen) {
    char err[MKV_ERRLEN];
    if (!present(KEYLIST_LIVE, key, keylen)) return 0;
    assert_int_equal(keylist_set(key, keylen, KEYLIST_NONE, err), MKV_OK);
    ks->count--;
    return 1;
}

static void keyset_free(struct keyset *ks) {
    char err[MKV_ERRLEN];
    assert_int_equal(keylist_clear(err), MKV_OK);
    ks->count = 0;
}

static void keyset_each(const struct keyset *ks, const char *prefix, size_t plen,
                        const char *start, size_t slen,
                        int (*fn)(const char *key, size_t keylen, void *arg), void *arg) {
    char err[MKV_ERRLEN];
    (void)ks;
    assert_int_equal(keylist_each(KEYLIST_LIVE, prefix, plen, start, slen, 0, fn, arg, err),
                     MKV_OK);
}

/* fresh -- an empty list for a test. */
static struct keyset fresh(void) {
    struct keyset ks = {0};
    keyset_free(&ks);
    return ks;
}

/* What keyset_each passed, in order; stops after stop_after keys when
 * that is not 0. */
struct seen {
    size_t n;
    size_t stop_after;
    char keys[64][MKV_KEY_MAX];
    size_t lens[64];
};

static int collect(const char *key, size_t keylen, void *arg) {
    struct seen *s = arg;

    assert_true(s->n < 64);
    assert_in_range(keylen, 1, MKV_KEY_MAX);
    memcpy(s->keys[s->n], key, keylen);
    s->lens[s->n++] = keylen;
    return s->stop_after != 0 && s->n == s->stop_after;
}

/* each -- keyset_each with NUL-terminated prefix and start (or NULL). */
static void each(const struct keyset *ks, const char *prefix,
                 const char *start, struct seen *s) {
    s->n = 0;
    keyset_each(ks, prefix, strlen(prefix), start,
                start != NULL ? strlen(start) : 0, collect, s);
}

/* assert_seen -- s holds exactly the n NUL-terminated keys want, in order. */
static void assert_seen(const struct seen *s, const char *const *want,
                        size_t n) {
    for (size_t i = 0; i < s->n && i < n; i++) {
        if (s->lens[i] != strlen(want[i]) ||
            memcmp(s->keys[i], want[i], s->lens[i]) != 0)
            fail_msg("key %zu: want '%s', got '%.*s'", i, want[i],
                     (int)s->lens[i], s->keys[i]);
    }
    assert_int_equal(s->n, n);
}

#define ASSERT_SEEN(s, ...)                                                  \
    do {                                                                     \
        static const char *const want_[] = {__VA_ARGS__};                    \
        assert_seen((s), want_, sizeof(want_) / sizeof(want_[0]));          \
    } while (0)

static int add(struct keyset *ks, const char *key) {
    return keyset_add(ks, key, strlen(key));
}

static int del(struct keyset *ks, const char *key) {
    return keyset_remove(ks, key, strlen(key));
}

/* The sample set, added out of order. In unsigned byte order it is
 * "/" "/\x01" "/A" "/a" "/a/" "/a/b" "/ab" "/b" "/\x80" "/\xff". */
static const char *const sample[] = {
    "/b", "/\xff", "/ab", "/a/b", "/\x80", "/a", "/A", "/a/", "/\x01", "/",
};
#define NSAMPLE (sizeof(sample) / sizeof(sample[0]))

static void fill_sample(struct keyset *ks) {
    for (size_t i = 0; i < NSAMPLE; i++)
        assert_int_equal(add(ks, sample[i]), 1);
    assert_int_equal(ks->count, NSAMPLE);
}

static void adding_a_key_twice_adds_it_once(void **state) {
    struct keyset ks = fresh();

    (void)state;
    assert_int_equal(add(&ks, "/a"), 1);
    assert_int_equal(add(&ks, "/a"), 0);
    assert_int_equal(ks.count, 1);
    /* A prefix and an extension are other keys. */
    assert_int_equal(add(&ks, "/"), 1);
    assert_int_equal(add(&ks, "/ab"), 1);
    assert_int_equal(add(&ks, "/ab"), 0);
    assert_int_equal(add(&ks, "/"), 0);
    assert_int_equal(ks.count, 3);
    keyset_free(&ks);
    assert_int_equal(ks.count, 0);
}

static void removing_tells_whether_the_key_was_there(void **state) {
    struct keyset ks = fresh();

    (void)state;
    assert_int_equal(del(&ks, "/a"), 0);
    assert_int_equal(add(&ks, "/a"), 1);
    assert_int_equal(add(&ks, "/a/b"), 1);
    /* Neither a prefix, an extension nor a sibling of a key is it. */
    assert_int_equal(del(&ks, "/"), 0);
    assert_int_equal(del(&ks, "/a/"), 0);
    assert_int_equal(del(&ks, "/a/b/c"), 0);
    assert_int_equal(del(&ks, "/b"), 0);
    assert_int_equal(ks.count, 2);
    assert_int_equal(del(&ks, "/a"), 1);
    assert_int_equal(del(&ks, "/a"), 0);
    assert_int_equal(ks.count, 1);
    assert_int_equal(del(&ks, "/a/b"), 1);
    assert_int_equal(ks.count, 0);
    /* Empty again, and usable. */
    assert_int_equal(add(&ks, "/a"), 1);
    assert_int_equal(ks.count, 1);
    keyset_free(&ks);
}

static void keys_come_in_unsigned_byte_order_a_prefix_first(void **state) {
    struct keyset ks = fresh();
    struct seen s = {0};

    (void)state;
    fill_sample(&ks);
    each(&ks, "", NULL, &s);
    ASSERT_SEEN(&s, "/", "/\x01", "/A", "/a", "/a/", "/a/b", "/ab", "/b",
                "/\x80", "/\xff");
    keyset_free(&ks);
}

static void a_prefix_selects_the_keys_that_begin_with_it(void **state) {
    struct keyset ks = fresh();
    struct seen s = {0};

    (void)state;
    fill_sample(&ks);
    each(&ks, "/a", NULL, &s);
    ASSERT_SEEN(&s, "/a", "/a/", "/a/b", "/ab");
    each(&ks, "/a/", NULL, &s);
    ASSERT_SEEN(&s, "/a/", "/a/b");
    each(&ks, "/a/b", NULL, &s);
    ASSERT_SEEN(&s, "/a/b");
    each(&ks, "/\x80", NULL, &s);
    ASSERT_SEEN(&s, "/\x80");
    each(&ks, "/", NULL, &s);
    assert_int_equal(s.n, NSAMPLE);
    keyset_free(&ks);
}

static void a_prefix_that_matches_nothing_lists_nothing(void **state) {
    struct keyset ks = fresh();
    struct seen s = {0};

    (void)state;
    fill_sample(&ks);
    each(&ks, "/c", NULL, &s);
    assert_int_equal(s.n, 0);
    each(&ks, "/a/c", NULL, &s);
    assert_int_equal(s.n, 0);
    each(&ks, "/aa", NULL, &s);
    assert_int_equal(s.n, 0);
    each(&ks, "/a/b/c/d", NULL, &s);
    assert_int_equal(s.n, 0);
    each(&ks, "/\xfe", NULL, &s);
    assert_int_equal(s.n, 0);
    each(&ks, "x", NULL, &s);
    assert_int_equal(s.n, 0);
    each(&ks, "\x01", NULL, &s);
    assert_int_equal(s.n, 0);
    keyset_free(&ks);
}

static void start_is_inclusive(void **state) {
    struct keyset ks = fresh();
    struct seen s = {0};

    (void)state;
    fill_sample(&ks);
    each(&ks, "", "/a/b", &s);
    ASSERT_SEEN(&s, "/a/b", "/ab", "/b", "/\x80", "/\xff");
    each(&ks, "/a", "/a", &s);
    ASSERT_SEEN(&s, "/a", "/a/", "/a/b", "/ab");
    each(&ks, "", "/\xff", &s);
    ASSERT_SEEN(&s, "/\xff");
    keyset_free(&ks);
}

static void a_start_that_is_not_a_key_begins_at_the_next_one(void **state) {
    struct keyset ks = fresh();
    struct seen s = {0};

    (void)state;
    fill_sample(&ks);
    each(&ks, "", "/aa", &s);
    ASSERT_SEEN(&s, "/ab", "/b", "/\x80", "/\xff");
    each(&ks, "/a", "/a/a", &s);
    ASSERT_SEEN(&s, "/a/b", "/ab");
    each(&ks, "/a", "/a/bb", &s);
    ASSERT_SEEN(&s, "/ab");
    each(&ks, "", "/\x7f", &s);
    ASSERT_SEEN(&s, "/\x80", "/\xff");
    each(&ks, "", "/B", &s);
    ASSERT_SEEN(&s, "/a", "/a/", "/a/b", "/ab", "/b", "/\x80", "/\xff");
    each(&ks, "", "/\x01\x01", &s);
    assert_int_equal(s.n, NSAMPLE - 2);
    keyset_free(&ks);
}

static void a_start_before_the_prefix_lists_the_whole_prefix(void **state) {
    struct keyset ks = fresh();
    struct seen s = {0};

    (void)state;
    fill_sample(&ks);
    each(&ks, "/a/", "/", &s);
    ASSERT_SEEN(&s, "/a/", "/a/b");
    each(&ks, "/a/", "/A", &s);
    ASSERT_SEEN(&s, "/a/", "/a/b");
    each(&ks, "/a/", "", &s);
    ASSERT_SEEN(&s, "/a/", "/a/b");
    /* A start that is a proper prefix of the prefix. */
    each(&ks, "/a/", "/a", &s);
    ASSERT_SEEN(&s, "/a/", "/a/b");
    keyset_free(&ks);
}

static void a_start_after_every_key_lists_nothing(void **state) {
    struct keyset ks = fresh();
    struct seen s = {0};

    (void)state;
    fill_sample(&ks);
    each(&ks, "", "/\xff\x01", &s);
    assert_int_equal(s.n, 0);
    each(&ks, "", "\xff", &s);
    assert_int_equal(s.n, 0);
    /* After every key with the prefix, though not after every key. */
    each(&ks, "/a", "/ac", &s);
    assert_int_equal(s.n, 0);
    each(&ks, "/a/", "/b", &s);
    assert_int_equal(s.n, 0);
    keyset_free(&ks);
}

static void an_empty_set_lists_nothing(void **state) {
    struct keyset ks = fresh();
    struct seen s = {0};

    (void)state;
    each(&ks, "", NULL, &s);
    assert_int_equal(s.n, 0);
    each(&ks, "/a", "/a/b", &s);
    assert_int_equal(s.n, 0);
    /* Emptied by removal. */
    assert_int_equal(add(&ks, "/a"), 1);
    assert_int_equal(del(&ks, "/a"), 1);
    each(&ks, "", NULL, &s);
    assert_int_equal(s.n, 0);
}

static void a_set_of_one_key(void **state) {
    struct keyset ks = fresh();
    struct seen s = {0};

    (void)state;
    assert_int_equal(add(&ks, "/m"), 1);
    each(&ks, "", NULL, &s);
    ASSERT_SEEN(&s, "/m");
    each(&ks, "", "/a", &s);
    ASSERT_SEEN(&s, "/m");
    each(&ks, "", "/m", &s);
    ASSERT_SEEN(&s, "/m");
    each(&ks, "", "/m\x01", &s);
    assert_int_equal(s.n, 0);
    each(&ks, "", "/z", &s);
    assert_int_equal(s.n, 0);
    each(&ks, "/m", NULL, &s);
    ASSERT_SEEN(&s, "/m");
    each(&ks, "/mm", NULL, &s);
    assert_int_equal(s.n, 0);
    keyset_free(&ks);
}

static void listing_stops_when_the_callback_says_so(void **state) {
    struct keyset ks = fresh();
    struct seen s = {0};

    (void)state;
    fill_sample(&ks);
    s.stop_after = 2;
    each(&ks, "/a", NULL, &s);
    ASSERT_SEEN(&s, "/a", "/a/");
    s.stop_after = 1;
    each(&ks, "", "/b", &s);
    ASSERT_SEEN(&s, "/b");
    keyset_free(&ks);
}

static void the_longest_keys_are_kept_whole(void **state) {
    struct keyset ks = fresh();
    struct seen s = {0};
    char key[MKV_KEY_MAX];

    (void)state;
    memset(key, 'k', sizeof(key));
    key[0] = '/';
    assert_int_equal(keyset_add(&ks, key, MKV_KEY_MAX), 1);
    assert_int_equal(keyset_add(&ks, key, MKV_KEY_MAX - 1), 1);
    key[MKV_KEY_MAX - 1] = '\xff';
    assert_int_equal(keyset_add(&ks, key, MKV_KEY_MAX), 1);
    key[MKV_KEY_MAX - 1] = 'k';
    keyset_each(&ks, key, MKV_KEY_MAX - 1, NULL, 0, collect, &s);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.lens[0], MKV_KEY_MAX - 1);
    assert_int_equal(s.lens[1], MKV_KEY_MAX);
    assert_memory_equal(s.keys[1], key, MKV_KEY_MAX);
    assert_int_equal(s.lens[2], MKV_KEY_MAX);
    assert_int_equal((unsigned char)s.keys[2][MKV_KEY_MAX - 1], 0xff);
    /* Start at the full-length key. */
    s.n = 0;
    keyset_each(&ks, "/", 1, key, MKV_KEY_MAX, collect, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(keyset_remove(&ks, key, MKV_KEY_MAX), 1);
    assert_int_equal(keyset_remove(&ks, key, MKV_KEY_MAX), 0);
    assert_int_equal(ks.count, 2);
    keyset_free(&ks);
}

/* ---- Randomized: the tree against a sorted array. ---- */

#define RAND_KEYS 5000
#define RAND_QUERIES 200
#define RAND_MAXLEN 40

static uint32_t lcg_state;

/* lcg -- Numerical Recipes' 32-bit LCG; the high bits are the good ones. */
static uint32_t lcg(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 8;
}

static uint32_t below(uint32_t n) { return lcg() % n; }

/* A byte 1..255, mostly from a few that make shared prefixes likely, and
 * always including both ends and the 0x7f/0x80 boundary. */
static unsigned char random_byte(void) {
    static const unsigned char common[] = {'/', 'a', 'b', 0x01, 0x7f, 0x80, 0xff};
    if (below(4) != 0) return common[below(sizeof(common))];
    return (unsigned char)(1 + below(255));
}

struct rkey {
    size_t len;
    int present;
    unsigned char key[RAND_MAXLEN];
};

/* key_cmp -- unsigned byte order, a prefix before its extensions. */
static int key_cmp(const unsigned char *a, size_t alen, const unsigned char *b,
                   size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) return c;
    return alen < blen ? -1 : alen > blen;
}

static int rkey_cmp(const void *x, const void *y) {
    const struct rkey *a = x, *b = y;
    return key_cmp(a->key, a->len, b->key, b->len);
}

/* random_key -- 1..40 bytes; half the time it extends a prefix of an
 * earlier key, so the tree gets deep shared paths. */
static void random_key(struct rkey *k, const struct rkey *earlier, size_t n) {
    size_t keep = 0;

    k->len = 1 + below(RAND_MAXLEN);
    if (n > 0 && below(2) == 0) {
        const struct rkey *e = &earlier[below((uint32_t)n)];
        keep = below((uint32_t)e->len + 1);
        if (keep > k->len) keep = k->len;
        memcpy(k->key, e->key, keep);
    }
    for (size_t i = keep; i < k->len; i++) k->key[i] = random_byte();
}

/* What keyset_each passed in the randomized test. */
struct rseen {
    size_t n;
    size_t stop_after;
    size_t cap;
    struct rkey *keys;
};

static int rcollect(const char *key, size_t keylen, void *arg) {
    struct rseen *s = arg;

    assert_true(s->n < s->cap);
    assert_in_range(keylen, 1, RAND_MAXLEN);
    s->keys[s->n].len = keylen;
    memcpy(s->keys[s->n].key, key, keylen);
    s->n++;
    return s->stop_after != 0 && s->n == s->stop_after;
}

static int has_prefix(const struct rkey *k, const unsigned char *p, size_t plen) {
    return k->len >= plen && memcmp(k->key, p, plen) == 0;
}

/* a_query -- a prefix and a start to list with: pieces of present keys,
 * their neighbours and random bytes, so that hits and misses both occur. */
static void a_query(const struct rkey *sorted, size_t nsorted, struct rkey *prefix,
                    struct rkey *start, int *has_start) {
    const struct rkey *k = &sorted[below((uint32_t)nsorted)];

    /* Prefix: 0..len bytes of a key, sometimes with a random last byte. */
    prefix->len = below((uint32_t)(k->len + 1));
    if (below(4) == 0) prefix->len = below(3);
    memcpy(prefix->key, k->key, prefix->len);
    if (prefix->len > 0 && below(4) == 0)
        prefix->key[prefix->len - 1] = random_byte();

    *has_start = below(4) != 0;
    switch (below(4)) {
    case 0: /* a present key, often under the prefix */
        *start = sorted[below((uint32_t)nsorted)];
        break;
    case 1: /* the prefix extended */
        *start = *prefix;
        while (start->len < RAND_MAXLEN && below(3) != 0)
            start->key[start->len++] = random_byte();
        break;
    case 2: /* a key near k, one byte changed or cut */
        *start = *k;
        if (below(2) == 0) start->len = below((uint32_t)k->len + 1);
        if (start->len > 0)
            start->key[below((uint32_t)start->len)] = random_byte();
        break;
    default:
        random_key(start, NULL, 0);
        break;
    }
}

static void listing_agrees_with_a_sorted_array(void **state) {
    struct rkey *all = calloc(RAND_KEYS, sizeof(*all));
    struct rkey *sorted = calloc(RAND_KEYS, sizeof(*sorted));
    struct rseen s = {0, 0, RAND_KEYS, calloc(RAND_KEYS, sizeof(struct rkey))};
    struct keyset ks = fresh();
    size_t nall = 0, npresent = 0, nsorted = 0, total = 0;

    (void)state;
    assert_non_null(all);
    assert_non_null(sorted);
    assert_non_null(s.keys);
    lcg_state = 20240101u;

    /* Add 5000 random keys (repeats included: they add nothing). */
    for (int i = 0; i < RAND_KEYS; i++) {
        struct rkey k;
        size_t j;

        random_key(&k, all, nall);
        for (j = 0; j < nall; j++)
            if (all[j].len == k.len && memcmp(all[j].key, k.key, k.len) == 0)
                break;
        assert_int_equal(keyset_add(&ks, (const char *)k.key, k.len),
                         j == nall ? 1 : 0);
        if (j == nall) {
            k.present = 1;
            all[nall++] = k;
            npresent++;
        }
        assert_int_equal(ks.count, npresent);
    }
    /* Remove about half, some of them twice, and some keys never added. */
    for (size_t j = 0; j < nall; j++) {
        if (below(2) == 0) continue;
        assert_int_equal(keyset_remove(&ks, (const char *)all[j].key, all[j].len), 1);
        all[j].present = 0;
        npresent--;
        if (below(8) == 0)
            assert_int_equal(
                keyset_remove(&ks, (const char *)all[j].key, all[j].len), 0);
    }
    for (int i = 0; i < 200; i++) {
        struct rkey k;
        size_t j;

        random_key(&k, all, nall);
        for (j = 0; j < nall; j++)
            if (all[j].len == k.len && memcmp(all[j].key, k.key, k.len) == 0)
                break;
        if (j == nall)
            assert_int_equal(keyset_remove(&ks, (const char *)k.key, k.len), 0);
    }
    assert_int_equal(ks.count, npresent);
    assert_true(npresent > RAND_KEYS / 4);

    for (size_t j = 0; j < nall; j++)
        if (all[j].present) sorted[nsorted++] = all[j];
    qsort(sorted, nsorted, sizeof(*sorted), rkey_cmp);

    for (int q = 0; q < RAND_QUERIES; q++) {
        struct rkey prefix, start;
        int has_start;
        size_t want = 0;

        a_query(sorted, nsorted, &prefix, &start, &has_start);
        s.n = 0;
        s.stop_after = below(5) == 0 ? 1 + below(5) : 0;
        keyset_each(&ks, (const char *)prefix.key, prefix.len,
                    has_start ? (const char *)start.key : NULL,
                    has_start ? start.len : 0, rcollect, &s);
        for (size_t j = 0; j < nsorted; j++) {
            const struct rkey *k = &sorted[j];
            if (!has_prefix(k, prefix.key, prefix.len)) continue;
            if (has_start && key_cmp(k->key, k->len, start.key, start.len) < 0)
                continue;
            if (s.stop_after != 0 && want == s.stop_after) break;
            if (want >= s.n || rkey_cmp(k, &s.keys[want]) != 0)
                fail_msg("query %d (prefix %zu bytes, start %s%zu bytes): "
                         "key %zu of the answer differs (%zu keys listed)",
                         q, prefix.len, has_start ? "" : "none, ", start.len,
                         want, s.n);
            want++;
        }
        assert_int_equal(s.n, want);
        total += want;
    }
    /* The queries must have found something to compare. */
    assert_true(total > RAND_QUERIES);

    keyset_free(&ks);
    free(s.keys);
    free(sorted);
    free(all);
}

/* ---- What the list adds to a set: sets, batches, the stamp. ---- */

static void a_key_is_in_one_set_at_a_time(void **state) {
    struct keyset ks = fresh();
    char err[MKV_ERRLEN];

    (void)state;
    (void)ks;
    assert_int_equal(keylist_set("/k", 2, KEYLIST_WRITING, err), MKV_OK);
    assert_true(present(KEYLIST_WRITING, "/k", 2));
    assert_false(present(KEYLIST_LIVE, "/k", 2));
    assert_int_equal(keylist_set("/k", 2, KEYLIST_LIVE, err), MKV_OK);
    assert_true(present(KEYLIST_LIVE, "/k", 2));
    assert_false(present(KEYLIST_WRITING, "/k", 2));
    assert_int_equal(keylist_set("/k", 2, KEYLIST_UNLINKED, err), MKV_OK);
    assert_true(present(KEYLIST_UNLINKED, "/k", 2));
    assert_false(present(KEYLIST_LIVE, "/k", 2));
    assert_int_equal(keylist_set("/k", 2, KEYLIST_NONE, err), MKV_OK);
    for (int set = 0; set < KEYLIST_NSETS; set++)
        assert_false(present((enum keylist_set)set, "/k", 2));
}

/* in_sets -- which sets hold key, one bit per set. */
static int in_sets(const char *key, size_t keylen) {
    int bits = 0;
    for (int set = 0; set < KEYLIST_NSETS; set++)
        if (present((enum keylist_set)set, key, keylen)) bits |= 1 << set;
    return bits;
}

static void a_move_takes_the_key_out_of_its_old_set_only(void **state) {
    struct keyset ks = fresh();
    char err[MKV_ERRLEN];

    (void)state;
    (void)ks;
    assert_int_equal(keylist_move("/m", 2, KEYLIST_NONE, KEYLIST_WRITING, err), MKV_OK);
    assert_int_equal(in_sets("/m", 2), 1 << KEYLIST_WRITING);
    assert_int_equal(keylist_move("/m", 2, KEYLIST_WRITING, KEYLIST_LIVE, err), MKV_OK);
    assert_int_equal(in_sets("/m", 2), 1 << KEYLIST_LIVE);
    assert_int_equal(keylist_move("/m", 2, KEYLIST_LIVE, KEYLIST_LIVE, err), MKV_OK);
    assert_int_equal(in_sets("/m", 2), 1 << KEYLIST_LIVE);
    assert_int_equal(keylist_move("/m", 2, KEYLIST_LIVE, KEYLIST_UNLINKED, err), MKV_OK);
    assert_int_equal(in_sets("/m", 2), 1 << KEYLIST_UNLINKED);
    /* A key a rebuild has not reached yet is in no set: the move adds it. */
    assert_int_equal(keylist_move("/n", 2, KEYLIST_LIVE, KEYLIST_UNLINKED, err), MKV_OK);
    assert_int_equal(in_sets("/n", 2), 1 << KEYLIST_UNLINKED);
    assert_int_equal(keylist_move("/m", 2, KEYLIST_UNLINKED, KEYLIST_NONE, err), MKV_OK);
    assert_int_equal(in_sets("/m", 2), 0);
    assert_int_equal(in_sets("/n", 2), 1 << KEYLIST_UNLINKED);
}

static void after_leaves_the_start_key_out(void **state) {
    struct keyset ks = fresh();
    struct seen s = {0};
    char err[MKV_ERRLEN];

    (void)state;
    fill_sample(&ks);
    assert_int_equal(keylist_each(KEYLIST_LIVE, "", 0, "/a/b", 4, 1, collect, &s, err), MKV_OK);
    ASSERT_SEEN(&s, "/ab", "/b", "/\x80", "/\xff");
    /* A start that is not a key: after changes nothing. */
    s.n = 0;
    assert_int_equal(keylist_each(KEYLIST_LIVE, "", 0, "/aa", 3, 1, collect, &s, err), MKV_OK);
    ASSERT_SEEN(&s, "/ab", "/b", "/\x80", "/\xff");
}

#define MANY 3000 /* about three batches */

struct counted {
    size_t n, stop_at;
    char last[32];
    size_t lastlen;
    int in_order;
};

static int count_in_order(const char *key, size_t keylen, void *arg) {
    struct counted *c = arg;
    if (c->n > 0 && key_cmp((const unsigned char *)c->last, c->lastlen,
                            (const unsigned char *)key, keylen) >= 0)
        c->in_order = 0;
    assert_true(keylen < sizeof(c->last));
    memcpy(c->last, key, keylen);
    c->lastlen = keylen;
    return ++c->n == c->stop_at;
}

static void a_walk_longer_than_a_batch_sees_each_key_once(void **state) {
    struct keyset ks = fresh();
    struct counted c = {0, 0, "", 0, 1};
    char err[MKV_ERRLEN], key[32];

    (void)state;
    (void)ks;
    /* Added out of order, in one bulk write, as a rebuild does. */
    for (int i = 0; i < MANY; i++) {
        int n = snprintf(key, sizeof(key), "/m/%05d", (i * 7919) % MANY);
        keylist_add(key, (size_t)n, KEYLIST_LIVE);
    }
    keylist_add("/n", 2, KEYLIST_LIVE);
    assert_int_equal(keylist_flush(err), MKV_OK);
    assert_int_equal(keylist_each(KEYLIST_LIVE, "/m/", 3, NULL, 0, 0, count_in_order, &c, err),
                     MKV_OK);
    assert_int_equal(c.n, MANY);
    assert_true(c.in_order);
    assert_string_equal(c.last, "/m/02999");
    /* Stopped past the first batch; then on from the last key seen. */
    memset(&c, 0, sizeof(c));
    c.in_order = 1;
    c.stop_at = 1500;
    assert_int_equal(keylist_each(KEYLIST_LIVE, "/m/", 3, NULL, 0, 0, count_in_order, &c, err),
                     MKV_OK);
    assert_string_equal(c.last, "/m/01499");
    c.n = 0;
    c.stop_at = 0;
    assert_int_equal(keylist_each(KEYLIST_LIVE, "/m/", 3, "/m/01499", 8, 1, count_in_order, &c,
                                  err), MKV_OK);
    assert_int_equal(c.n, MANY - 1500);
    assert_true(c.in_order);
}

static void the_stamp_says_whether_the_list_can_be_trusted(void **state) {
    struct keyset ks = fresh();
    struct keylist_stamp st = {1, 2, 3, 4, 99}, now;
    char err[MKV_ERRLEN];

    (void)state;
    (void)ks;
    now = st;
    assert_false(keylist_fresh(&now)); /* never marked */
    assert_int_equal(keylist_mark(&st, err), MKV_OK);
    now.nrecords = 0;
    assert_true(keylist_fresh(&now));
    assert_int_equal(now.nrecords, 99);
    /* Another file, or the same one written since. */
    now = st;
    now.ino = 5;
    assert_false(keylist_fresh(&now));
    now = st;
    now.mtime_ns = 5;
    assert_false(keylist_fresh(&now));
    now = st;
    now.size = 4;
    assert_false(keylist_fresh(&now));
    /* In use: not trusted until closed cleanly again. */
    assert_int_equal(keylist_mark(NULL, err), MKV_OK);
    now = st;
    assert_false(keylist_fresh(&now));
}

static char test_dir[] = "/tmp/test_keylist.XXXXXX";

static int open_list(void **state) {
    char err[MKV_ERRLEN], path[64];
    (void)state;
    if (mkdtemp(test_dir) == NULL) return -1;
    snprintf(path, sizeof(path), "%s/keys", test_dir);
    if (keylist_open(path, err) != MKV_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int close_list(void **state) {
    char cmd[128];
    (void)state;
    keylist_close();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adding_a_key_twice_adds_it_once),
        cmocka_unit_test(removing_tells_whether_the_key_was_there),
        cmocka_unit_test(keys_come_in_unsigned_byte_order_a_prefix_first),
        cmocka_unit_test(a_prefix_selects_the_keys_that_begin_with_it),
        cmocka_unit_test(a_prefix_that_matches_nothing_lists_nothing),
        cmocka_unit_test(start_is_inclusive),
        cmocka_unit_test(a_start_that_is_not_a_key_begins_at_the_next_one),
        cmocka_unit_test(a_start_before_the_prefix_lists_the_whole_prefix),
        cmocka_unit_test(a_start_after_every_key_lists_nothing),
        cmocka_unit_test(an_empty_set_lists_nothing),
        cmocka_unit_test(a_set_of_one_key),
        cmocka_unit_test(listing_stops_when_the_callback_says_so),
        cmocka_unit_test(the_longest_keys_are_kept_whole),
        cmocka_unit_test(listing_agrees_with_a_sorted_array),
        cmocka_unit_test(a_key_is_in_one_set_at_a_time),
        cmocka_unit_test(a_move_takes_the_key_out_of_its_old_set_only),
        cmocka_unit_test(after_leaves_the_start_key_out),
        cmocka_unit_test(a_walk_longer_than_a_batch_sees_each_key_once),
        cmocka_unit_test(the_stamp_says_whether_the_list_can_be_trusted),
    };
    return cmocka_run_group_tests_name("keylist", tests, open_list, close_list);
}
