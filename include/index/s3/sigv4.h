/* sigv4.h -- AWS Signature Version 4 as S3 checks it: the canonical
 * request, the string to sign, the signing key and the chunk signatures
 * of aws-chunked bodies. Pure functions on bytes; no I/O, no lookups.
 *
 * Canonical request (S3's rules):
 *     METHOD \n URI \n QUERY \n HEADERS \n SIGNED \n PAYLOAD-HASH
 * URI is the path percent-decoded then encoded once again (every byte
 * but A-Z a-z 0-9 - _ . ~ and '/' as %XX, upper-case hex), so a client
 * that sent a byte raw and one that sent it escaped sign alike; QUERY is
 * every name=value pair so encoded ('/' too), sorted by name then value,
 * joined by '&' (presigned: without X-Amz-Signature); HEADERS is, for
 * each signed header in order, "name:value\n" with the values of every
 * header of that name trimmed, inner runs of spaces made one, and
 * joined by ','. */
#ifndef MKV_SIGV4_H
#define MKV_SIGV4_H

#include <stddef.h>

#include "buf.h"
#include "mkv.h"

#define SIGV4_HEXLEN 64               /* a SHA-256 as hex digits */
#define SIGV4_EMPTY_SHA256 \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One request header as received. */
struct sigv4_header {
    const char *name;
    const char *value;
};

/* sigv4_canonical -- the canonical request into b. raw_path and
 * raw_query (may be NULL) are as on the request line; signed_headers is
 * "a;b;c" (lower-case, sorted, as the client listed them); hdrs[0..nh)
 * the request's headers. MKV_ERR (err set) on a malformed escape in the
 * path or query, or a signed header that is absent. */
int sigv4_canonical(struct buf *b, const char *method, const char *raw_path,
                    const char *raw_query, int presigned,
                    const char *signed_headers, const struct sigv4_header *hdrs,
                    int nh, const char *payload_hash, char *err);

/* sigv4_hex -- d[0..n) as 2n lower-case hex digits and a NUL, into out. */
void sigv4_hex(const unsigned char *d, size_t n, char *out);

/* sigv4_sha256_hex -- SHA-256 of p[0..n) as 64 lower-case hex digits. */
void sigv4_sha256_hex(const void *p, size_t n, char hex[SIGV4_HEXLEN + 1]);

/* sigv4_key -- the signing key for secret, date (YYYYMMDD), region and
 * service: HMAC chained over "AWS4"+secret, date, region, service,
 * "aws4_request". */
void sigv4_key(const char *secret, const char *date, const char *region,
               const char *service, unsigned char key[32]);

/* sigv4_sign -- hex HMAC-SHA256 of the string to sign
 *     "AWS4-HMAC-SHA256\n" amzdate "\n" scope "\n" hex(sha256(canonical))
 * under key. */
void sigv4_sign(const unsigned char key[32], const char *amzdate, const char *scope,
                const char *canonical, size_t clen, char sig[SIGV4_HEXLEN + 1]);

/* sigv4_chunk_sign -- the signature of one aws-chunked chunk whose data
 * hash (hex) is data_hex, following prev (the seed signature for the
 * first chunk):
 *     "AWS4-HMAC-SHA256-PAYLOAD\n" amzdate "\n" scope "\n" prev "\n"
 *     hex(sha256("")) "\n" data_hex */
void sigv4_chunk_sign(const unsigned char key[32], const char *amzdate,
                      const char *scope, const char *prev, const char *data_hex,
                      char sig[SIGV4_HEXLEN + 1]);

/* sigv4_equal -- constant-time: do the NUL-terminated a and b match? */
int sigv4_equal(const char *a, const char *b);

#endif
