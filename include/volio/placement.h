/* placement.h -- which volumes hold a key, and where on them.
 *
 * Volumes: ranked by md5(volume || key), compared as unsigned bytes,
 * highest first (the first listed wins a tie); the first `replicas` hold
 * the key. With one replica this is exactly pymkv's rule. With more than
 * one subvolume, each chosen volume gets "/svXX" (two upper-case hex
 * digits, minikeyvalue's): the low 32 bits of that volume's score, big
 * endian, modulo the subvolume count.
 *
 * Path: "/%02x/%02x/NAME" of md5(key) bytes 0 and 1, where NAME is the
 * padded standard base64 of the key -- pymkv's name -- whenever every
 * '/'-separated segment of it is 1..255 bytes. Otherwise NAME is made
 * storable, reversibly (placement_unname), with a byte base64 never uses:
 *   an empty segment (from "//", or a '/' first or last) is written "-";
 *   a segment over 255 bytes is cut: while what is left of it is over
 *   255 bytes, its first 254 bytes are written followed by "-" and a
 *   '/'; the rest (at most 255 bytes) is written as it is.
 * So a segment "-" is empty, and a 255-byte segment ending in '-' is a
 * piece to be joined to the next without a '/'.
 *
 * Two forms. The above is the NESTED form, pymkv's: each '/' of the
 * base64 nests a directory, so two keys can share a path -- "/qx" is
 * "/71/da/L3F4" and "/qx\xff/Cz" is "/71/da/L3F4/y9Deg==", below it --
 * and whichever is stored first blocks the other. New writes use the
 * FLAT form: the base64 with every '/' written '_' (a byte base64 never
 * uses), cut by the rule above into 254 + "-" pieces only when over 255
 * bytes. The forms differ only for keys whose base64 has a '/'
 * (placement_nests); the record of such a key says which one its files
 * use (record.h, "FLAT"), so keys stored by pymkv and by earlier cmkv
 * stay readable where they are.
 *
 * Why flat paths never meet. In the flat form the only directories are
 * 255-byte pieces ending in '-', and a file's name (the last piece)
 * never ends in '-', since base64 has none; so no flat path is another's
 * directory, and the form is reversible, so no two are equal. A flat
 * name that differs from the nested one has a '_', which no nested name
 * has, so it is never a nested path or a directory of one; and a nested
 * path is never a directory of a flat one, as its last name never is a
 * 255-byte piece ending in '-'. What is left: a key whose two forms
 * agree (its base64 has no '/') may find its path taken by a directory
 * of an old nested key (stored by pymkv or earlier cmkv); the volume then
 * refuses the write, and the PUT answers 409 saying so. */
#ifndef MKV_PLACEMENT_H
#define MKV_PLACEMENT_H

#include <stddef.h>

#include "mkv.h"

/* Base64 of the longest key, and room for the worst case above (every
 * base64 byte a '/', each then an empty "-" segment) plus "/xx/yy/". */
#define PLACEMENT_B64_MAX (4 * ((MKV_KEY_MAX + 2) / 3))
#define PLACEMENT_PATH_MAX (7 + 2 * PLACEMENT_B64_MAX + 2)

/* Longest name one directory entry may have on the volume's filesystem. */
#define PLACEMENT_NAME_MAX 255

/* Most volumes placement ranks; longest volume string it accepts. */
#define PLACEMENT_MAX_VOLUMES 64
#define PLACEMENT_VOLUME_MAX 250

/* placement_volume -- index into volumes[0..n) of the highest-ranked
 * volume for key (pymkv's choice). n >= 1. */
int placement_volume(char *const *volumes, int n, const char *key,
                     size_t keylen);

/* placement_replicas -- write the names of the `replicas` volumes that
 * hold key, best first, into out[0..replicas) (each "host:port" or
 * "host:port/svXX"). 1 <= replicas <= n <= PLACEMENT_MAX_VOLUMES,
 * subvolumes >= 1, and each volume string at most PLACEMENT_VOLUME_MAX
 * bytes. */
void placement_replicas(char *const *volumes, int n, int replicas,
                        int subvolumes, const char *key, size_t keylen,
                        char out[][PLACEMENT_VOLUME_MAX + 8]);

/* placement_rank -- order volumes[0..n) for key, best first: ranks[i] is
 * the index of the i-th best. Used to sort found replicas (rebuild). */
void placement_rank(char *const *volumes, int n, const char *key,
                    size_t keylen, int *ranks);

/* placement_nests -- 1 when key's base64 has a '/', so that its nested
 * and flat names differ; else 0. */
int placement_nests(const char *key, size_t keylen);

/* placement_path -- write "/xx/yy/NAME" for key, in the flat form when
 * flat is non-zero, else the nested one, into out (which must hold
 * PLACEMENT_PATH_MAX bytes), NUL-terminated; returns its length. */
int placement_path(const char *key, size_t keylen, int flat, char *out);

/* placement_unname -- the inverse for rebuild and reconcile: from NAME
 * (the part of a path after "/xx/yy/", namelen bytes), in either form,
 * recover the key into out (MKV_KEY_MAX bytes) and set *flat to 1 when
 * NAME is in the flat form and differs from the nested one, else 0.
 * Returns MKV_ERR (err set) when NAME is not one placement_path could
 * have written, or when md5(key) does not begin with the bytes xx and yy
 * given (pass -1, -1 to skip that check). */
int placement_unname(const char *name, size_t namelen, int xx, int yy,
                     char *out, size_t *outlen, int *flat, char *err);

#endif
