/* keyset.c -- a crit-bit tree of byte-string keys, for ordered listing.
 *
 * Internal nodes are tagged pointers (low bit set); leaves are struct
 * leaf. An internal node splits on the first bit (byte index, and a mask
 * with every bit set but the critical one) where its two subtrees differ;
 * the bit of a byte past a key's end reads as 0, so a key sorts before
 * its extensions. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyset.h"
#include "mkv.h"

struct leaf {
    size_t len;
    unsigned char key[];
};

struct node {
    void *child[2];
    size_t byte;
    uint8_t otherbits;            /* ~(critical bit) within that byte */
};

/* Deepest path: one internal node per bit position a key can have. */
#define KEYSET_DEPTH (8 * (MKV_KEY_MAX + 1) + 1)

static int is_node(const void *p) { return ((uintptr_t)p & 1) != 0; }
static struct node *as_node(void *p) { return (struct node *)((uintptr_t)p - 1); }

static unsigned char byte_at(const unsigned char *k, size_t len, size_t i) {
    return i < len ? k[i] : 0;
}

static int direction(const struct node *n, const unsigned char *k, size_t len) {
    return (1 + (n->otherbits | byte_at(k, len, n->byte))) >> 8;
}

/* best_leaf -- the leaf reached by following key's bits. */
static struct leaf *best_leaf(void *p, const unsigned char *k, size_t len) {
    while (is_node(p)) p = as_node(p)->child[direction(as_node(p), k, len)];
    return p;
}

/* crit_bit -- where a and b first differ; 0 when they are equal. */
static int crit_bit(const unsigned char *a, size_t alen, const unsigned char *b,
                    size_t blen, size_t *byte, uint8_t *otherbits) {
    size_t n = alen > blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        unsigned x = byte_at(a, alen, i) ^ byte_at(b, blen, i);
        if (x) {
            while (x & (x - 1)) x &= x - 1; /* keep the highest bit */
            *byte = i;
            *otherbits = (uint8_t)(x ^ 255);
            return 1;
        }
    }
    return 0;
}

/* before -- does the split (byte, ob) come before (b2, ob2) in a key? */
static int before(size_t byte, uint8_t ob, size_t b2, uint8_t ob2) {
    return byte < b2 || (byte == b2 && ob < ob2);
}

int keyset_add(struct keyset *ks, const char *key, size_t keylen) {
    const unsigned char *k = (const unsigned char *)key;
    struct leaf *l, *best;
    struct node *n;
    void **where;
    size_t byte;
    uint8_t ob;
    int dir;

    l = malloc(sizeof(*l) + keylen);
    if (l == NULL) return -1;
    l->len = keylen;
    memcpy(l->key, key, keylen);
    if (ks->root == NULL) {
        ks->root = l;
        ks->count++;
        return 1;
    }
    best = best_leaf(ks->root, k, keylen);
    if (!crit_bit(best->key, best->len, k, keylen, &byte, &ob)) {
        free(l);
        return 0;
    }
    n = malloc(sizeof(*n));
    if (n == NULL) {
        free(l);
        return -1;
    }
    n->byte = byte;
    n->otherbits = ob;
    dir = direction(n, k, keylen);
    n->child[dir] = l;
    /* Insert above the first node that splits later than we do. */
    where = &ks->root;
    while (is_node(*where)) {
        struct node *q = as_node(*where);
        if (!before(q->byte, q->otherbits, byte, ob)) break;
        where = &q->child[direction(q, k, keylen)];
    }
    n->child[1 - dir] = *where;
    *where = (void *)((uintptr_t)n + 1);
    ks->count++;
    return 1;
}

int keyset_remove(struct keyset *ks, const char *key, size_t keylen) {
    const unsigned char *k = (const unsigned char *)key;
    void **where = &ks->root, **parentwhere = NULL;
    struct node *parent = NULL;
    struct leaf *l;
    int dir = 0;

    if (ks->root == NULL) return 0;
    while (is_node(*where)) {
        parentwhere = where;
        parent = as_node(*where);
        dir = direction(parent, k, keylen);
        where = &parent->child[dir];
    }
    l = *where;
    if (l->len != keylen || memcmp(l->key, key, keylen) != 0) return 0;
    free(l);
    if (parent == NULL) {
        ks->root = NULL;
    } else {
        *parentwhere = parent->child[1 - dir];
        free(parent);
    }
    ks->count--;
    return 1;
}

static void free_tree(void *p) {
    if (p == NULL) return;
    if (is_node(p)) {
        struct node *n = as_node(p);
        free_tree(n->child[0]);
        free_tree(n->child[1]);
        free(n);
    } else {
        free(p);
    }
}

void keyset_free(struct keyset *ks) {
    free_tree(ks->root);
    ks->root = NULL;
    ks->count = 0;
}

/* A path from the root: the nodes passed and the way taken at each. */
struct path {
    int depth;
    struct node **nodes;
    unsigned char *dirs;
};

/* descend_left -- from p, go to its smallest leaf, recording the way. */
static struct leaf *descend_left(struct path *pa, void *p) {
    while (is_node(p)) {
        pa->nodes[pa->depth] = as_node(p);
        pa->dirs[pa->depth++] = 0;
        p = as_node(p)->child[0];
    }
    return p;
}

/* next_leaf -- the leaf after the subtree the path ends in, or NULL. */
static struct leaf *next_leaf(struct path *pa) {
    while (pa->depth > 0) {
        pa->depth--;
        if (pa->dirs[pa->depth] == 0) {
            struct node *n = pa->nodes[pa->depth];
            pa->dirs[pa->depth++] = 1;
            return descend_left(pa, n->child[1]);
        }
    }
    return NULL;
}

/* lower_bound -- the smallest leaf >= key, with the path to it. */
static struct leaf *lower_bound(void *root, struct path *pa,
                                const unsigned char *k, size_t len) {
    struct leaf *best = best_leaf(root, k, len);
    size_t byte;
    uint8_t ob;
    void *p = root;
    int below;

    pa->depth = 0;
    if (!crit_bit(best->key, best->len, k, len, &byte, &ob)) {
        /* Exact match: retrace the way to it. */
        while (is_node(p)) {
            struct node *n = as_node(p);
            int d = direction(n, k, len);
            pa->nodes[pa->depth] = n;
            pa->dirs[pa->depth++] = (unsigned char)d;
            p = n->child[d];
        }
        return p;
    }
    /* Every key in the subtree hanging below the split point shares
     * best's bits up to it; key's bit there decides if all of them are
     * above key (take the subtree's smallest) or all below (the next). */
    below = ((1 + (ob | byte_at(k, len, byte))) >> 8) == 1;
    while (is_node(p)) {
        struct node *n = as_node(p);
        int d;
        if (!before(n->byte, n->otherbits, byte, ob)) break;
        d = direction(n, k, len);
        pa->nodes[pa->depth] = n;
        pa->dirs[pa->depth++] = (unsigned char)d;
        p = n->child[d];
    }
    if (!below) return descend_left(pa, p);
    return next_leaf(pa);
}

void keyset_each(const struct keyset *ks, const char *prefix, size_t plen,
                 const char *start, size_t slen,
                 int (*fn)(const char *key, size_t keylen, void *arg),
                 void *arg) {
    struct path pa;
    struct leaf *l;
    const char *from = prefix;
    size_t flen = plen;

    if (ks->root == NULL) return;
    pa.nodes = malloc(KEYSET_DEPTH * sizeof(*pa.nodes));
    pa.dirs = malloc(KEYSET_DEPTH);
    if (pa.nodes == NULL || pa.dirs == NULL) goto out;
    /* Begin at the greater of prefix and start. */
    if (start != NULL) {
        size_t m = slen < plen ? slen : plen;
        int c = memcmp(start, prefix, m);
        if (c > 0 || (c == 0 && slen > plen)) {
            from = start;
            flen = slen;
        }
    }
    for (l = lower_bound(ks->root, &pa, (const unsigned char *)from, flen);
         l != NULL; l = next_leaf(&pa)) {
        if (l->len < plen || memcmp(l->key, prefix, plen) != 0) break;
        if (fn((const char *)l->key, l->len, arg)) break;
    }
out:
    free(pa.nodes);
    free(pa.dirs);
}
