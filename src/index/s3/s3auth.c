/* s3auth.c -- the S3 front's authentication: AWS Signature Version 4 in
 * the Authorization header or a presigned URL, and the payload's checks
 * (x-amz-content-sha256, aws-chunked chunk signatures, Content-MD5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log.h"
#include "put.h"
#include "s3.h"

#define S3_SKEW_S 900             /* 15 minutes, as S3 allows */
#define S3_PRESIGN_MAX 604800     /* 7 days */

/* parse_amzdate -- YYYYMMDDTHHMMSSZ as Unix time, or -1. */
static time_t parse_amzdate(const char *v) {
    struct tm tm;
    const char *end;
    if (strlen(v) != 16) return -1;
    memset(&tm, 0, sizeof(tm));
    end = strptime(v, "%Y%m%dT%H%M%SZ", &tm);
    if (end == NULL || *end != '\0') return -1;
    return timegm(&tm);
}

/* parse_credential -- "ID/DATE/REGION/SERVICE/aws4_request" into the
 * auth's id and scope (and date8, region). MKV_ERR when malformed. */
static int parse_credential(struct s3_auth *a, const char *v, char date8[9]) {
    const char *p[5];
    size_t len[5];
    const char *q = v;
    for (int i = 0; i < 5; i++) {
        const char *slash = strchr(q, '/');
        p[i] = q;
        if (i < 4 && slash == NULL) return MKV_ERR;
        len[i] = i < 4 ? (size_t)(slash - q) : strlen(q);
        q = slash ? slash + 1 : q + len[i];
    }
    if (len[0] == 0 || len[0] > CREDS_ID_MAX || len[1] != 8 || len[2] == 0 || len[2] > 63 ||
        len[3] != 2 || strncmp(p[3], "s3", 2) != 0 || len[4] != 12 ||
        strncmp(p[4], "aws4_request", 12) != 0)
        return MKV_ERR;
    memcpy(a->id, p[0], len[0]);
    a->id[len[0]] = '\0';
    memcpy(date8, p[1], 8);
    date8[8] = '\0';
    snprintf(a->scope, sizeof(a->scope), "%s", p[1]);
    for (size_t i = 0; i < len[2]; i++)
        if (p[2][i] < 0x21 || p[2][i] > 0x7e) return MKV_ERR;
    return MKV_OK;
}

/* header_fields -- Credential=, SignedHeaders=, Signature= of an
 * Authorization header (after the algorithm), into the buffers. */
static int header_fields(const char *v, char *cred, size_t ccap, char *sh, size_t scap,
                         char *sig, size_t gcap) {
    int seen = 0;
    while (*v) {
        const char *comma = strchr(v, ','), *end = comma ? comma : v + strlen(v), *eq;
        while (*v == ' ') v++;
        eq = memchr(v, '=', (size_t)(end - v));
        if (eq) {
            size_t nl = (size_t)(eq - v), vl = (size_t)(end - eq - 1);
            char *out = NULL;
            size_t cap = 0;
            while (vl > 0 && eq[vl] == ' ') vl--;
            if (nl == 10 && strncmp(v, "Credential", 10) == 0) out = cred, cap = ccap, seen |= 1;
            else if (nl == 13 && strncmp(v, "SignedHeaders", 13) == 0) out = sh, cap = scap, seen |= 2;
            else if (nl == 9 && strncmp(v, "Signature", 9) == 0) out = sig, cap = gcap, seen |= 4;
            if (out) {
                if (vl >= cap) return MKV_ERR;
                memcpy(out, eq + 1, vl);
                out[vl] = '\0';
            }
        }
        v = comma ? comma + 1 : end;
    }
    return seen == 7 ? MKV_OK : MKV_ERR;
}

/* raw_query -- the query string again from libmicrohttpd's pairs. */
static void raw_query(const struct s3_req *s, struct buf *q) {
    for (int i = 0; i < s->nargs; i++) {
        if (i) buf_add(q, "&", 1);
        buf_adds(q, s->args[i].name);
        if (s->args[i].value) {
            buf_add(q, "=", 1);
            buf_adds(q, s->args[i].value);
        }
    }
    buf_add(q, "", 0);
}

static int is_hex64(const char *v) {
    if (strlen(v) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f'))) return 0;
    return 1;
}

/* payload_mode -- what x-amz-content-sha256 says; sets s->auth.payload,
 * s->dlen for aws-chunked, and an error for what we cannot check. */
/* decoded_length -- an aws-chunked body's x-amz-decoded-content-length,
 * or -1 with MissingContentLength set when it is absent or not a number. */
static long long decoded_length(struct s3_req *s) {
    const char *d = s3_header(s, "x-amz-decoded-content-length");
    char *end;
    long long n = d ? strtoll(d, &end, 10) : -1;
    if (d == NULL || *d < '0' || *d > '9' || *end != '\0' || n < 0) {
        s3_error(s, "MissingContentLength", "aws-chunked needs x-amz-decoded-content-length.");
        return -1;
    }
    return n;
}

static void payload_mode(struct s3_req *s, const char *v) {
    if (strcmp(v, "UNSIGNED-PAYLOAD") == 0) {
        s->auth.payload = S3_PAY_UNSIGNED;
    } else if (strcmp(v, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") == 0) {
        long long n = decoded_length(s);
        if (n < 0) return;
        s->auth.payload = S3_PAY_STREAMING;
        s->dlen = n;
    } else if (strcmp(v, "STREAMING-UNSIGNED-PAYLOAD-TRAILER") == 0) {
        const char *t = s3_header(s, "x-amz-trailer");
        long long n = decoded_length(s);
        if (n < 0) return;
        if (t == NULL || strlen(t) >= sizeof(s->ch.trailer) ||
            checksum_kind_of(t) == CHECKSUM_NONE) {
            s3_error(s, "NotImplemented", "x-amz-trailer %s is not implemented by cmkv "
                     "(crc32, crc32c, sha1 and sha256 checksums are)", t ? t : "(none)");
            return;
        }
        for (size_t i = 0; t[i]; i++)
            s->ch.trailer[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32 : t[i]);
        if (checksum_init(&s->ch.sum, checksum_kind_of(t)) != MKV_OK) {
            s3_error(s, "InternalError", "Out of memory.");
            return;
        }
        s->auth.payload = S3_PAY_TRAILER;
        s->dlen = n;
    } else if (strncmp(v, "STREAMING-", 10) == 0) {
        s3_error(s, "NotImplemented", "x-amz-content-sha256 %s is not implemented by cmkv", v);
    } else if (is_hex64(v)) {
        s->auth.payload = S3_PAY_SHA256;
        memcpy(s->auth.sha256, v, SIGV4_HEXLEN + 1);
    } else {
        s3_error(s, "InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                                       "STREAMING-AWS4-HMAC-SHA256-PAYLOAD or a hex SHA-256");
    }
}

void s3auth_check(struct s3_req *s) {
    const char *auth = s3_header(s, "Authorization"), *payload;
    char cred[512], sh[1024], sig[SIGV4_HEXLEN + 8], date8[9], secret[CREDS_SECRET_MAX + 1];
    char want[SIGV4_HEXLEN + 1], err[MKV_ERRLEN], region[64];
    struct buf canon = {0}, q = {0};
    time_t t, now = time(NULL);
    const char *amzdate;
    char pdate[32];
    long expires = 0;

    if (auth != NULL) {
        if (strncmp(auth, "AWS4-HMAC-SHA256 ", 17) != 0) {
            s3_error(s, strncmp(auth, "AWS ", 4) == 0 ? "NotImplemented" : "AuthorizationHeaderMalformed",
                     "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported.");
            return;
        }
        if (header_fields(auth + 17, cred, sizeof(cred), sh, sizeof(sh), sig, sizeof(sig)) != MKV_OK) {
            s3_error(s, "AuthorizationHeaderMalformed", "The Authorization header is malformed.");
            return;
        }
        amzdate = s3_header(s, "x-amz-date");
        payload = s3_header(s, "x-amz-content-sha256");
        if (amzdate == NULL) {
            s3_error(s, "AccessDenied", "AWS authentication requires a valid x-amz-date header.");
            return;
        }
        if (payload == NULL) {
            s3_error(s, "InvalidRequest", "Missing required header for this request: "
                                          "x-amz-content-sha256");
            return;
        }
    } else if (s3_arg(s, "X-Amz-Algorithm") != NULL) {
        char alg[32], ex[16];
        s->auth.presigned = 1;
        if (s3_arg_decoded(s, "X-Amz-Algorithm", alg, sizeof(alg), NULL) != MKV_OK ||
            strcmp(alg, "AWS4-HMAC-SHA256") != 0 ||
            s3_arg_decoded(s, "X-Amz-Credential", cred, sizeof(cred), NULL) != MKV_OK ||
            s3_arg_decoded(s, "X-Amz-SignedHeaders", sh, sizeof(sh), NULL) != MKV_OK ||
            s3_arg_decoded(s, "X-Amz-Signature", sig, sizeof(sig), NULL) != MKV_OK ||
            s3_arg_decoded(s, "X-Amz-Date", pdate, sizeof(pdate), NULL) != MKV_OK ||
            s3_arg_decoded(s, "X-Amz-Expires", ex, sizeof(ex), NULL) != MKV_OK) {
            s3_error(s, "AuthorizationQueryParametersError",
                     "Query-string authentication (SigV4) needs X-Amz-Algorithm, "
                     "X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders "
                     "and X-Amz-Signature.");
            s->estatus = 400;
            return;
        }
        expires = strtol(ex, NULL, 10);
        if (ex[0] < '0' || ex[0] > '9' || expires < 1 || expires > S3_PRESIGN_MAX) {
            s3_error(s, "AuthorizationQueryParametersError",
                     "X-Amz-Expires must be 1 to 604800 seconds.");
            s->estatus = 400;
            return;
        }
        amzdate = pdate;
        payload = "UNSIGNED-PAYLOAD";
    } else {
        s3_error(s, "AccessDenied", "Anonymous access is not allowed: sign the request.");
        return;
    }

    if (parse_credential(&s->auth, cred, date8) != MKV_OK) {
        s3_error(s, "AuthorizationHeaderMalformed", "The Credential is malformed.");
        return;
    }
    {
        const char *r0 = strchr(cred, '/') + 10, *r1 = strchr(r0, '/');
        snprintf(region, sizeof(region), "%.*s", (int)(r1 - r0), r0);
    }
    snprintf(s->auth.scope, sizeof(s->auth.scope), "%s/%s/s3/aws4_request", date8, region);
    t = parse_amzdate(amzdate);
    if (t < 0 || strncmp(amzdate, date8, 8) != 0) {
        s3_error(s, "AccessDenied", "The date in the Credential does not match X-Amz-Date.");
        return;
    }
    memcpy(s->auth.amzdate, amzdate, 16); /* parse_amzdate checked: 16 bytes */
    s->auth.amzdate[16] = '\0';
    if (s->auth.presigned) {
        if (now > t + expires) {
            s3_error(s, "AccessDenied", "Request has expired");
            return;
        }
        if (t > now + S3_SKEW_S) {
            s3_error(s, "AccessDenied", "Request is not valid yet");
            return;
        }
    } else if (t > now + S3_SKEW_S || t < now - S3_SKEW_S) {
        s3_error(s, "RequestTimeTooSkewed",
                 "The difference between the request time and the server's time is too large.");
        return;
    }
    if (!creds_secret(s->auth.id, secret)) {
        s3_error(s, "InvalidAccessKeyId",
                 "The AWS Access Key Id you provided does not exist in our records.");
        return;
    }
    sigv4_key(secret, date8, region, "s3", s->auth.key);
    OPENSSL_cleanse(secret, sizeof(secret));
    raw_query(s, &q);
    if (sigv4_canonical(&canon, s->r.method, s->path, q.p ? q.p : "", s->auth.presigned, sh,
                        s->hdrs, s->nhdrs, payload, err) != MKV_OK) {
        buf_free(&q);
        buf_free(&canon);
        s3_error(s, "SignatureDoesNotMatch", "%s", err);
        return;
    }
    buf_free(&q);
    sigv4_sign(s->auth.key, s->auth.amzdate, s->auth.scope, canon.p, canon.len, want);
    if (!sigv4_equal(want, sig)) {
        if (log_verbose) log_msg("S3 %s: the canonical request we signed:\n%s", s->path, canon.p);
        buf_free(&canon);
        s3_error(s, "SignatureDoesNotMatch",
                 "The request signature we calculated does not match the signature you "
                 "provided. Check your key and signing method.");
        return;
    }
    buf_free(&canon);
    payload_mode(s, payload);
    if (s->ecode) return;
    if (s->auth.payload == S3_PAY_SHA256) {
        s->sha = EVP_MD_CTX_new();
        if (s->sha == NULL || !EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL))
            s3_error(s, "InternalError", "Out of memory.");
    } else if (s->auth.payload == S3_PAY_STREAMING) {
        memcpy(s->ch.prev, sig, SIGV4_HEXLEN + 1);
        s->ch.h = EVP_MD_CTX_new();
        if (s->ch.h == NULL) s3_error(s, "InternalError", "Out of memory.");
    }
}

/* chunk_head -- parse "HEX;chunk-signature=SIG" (signed) or "HEX" (with
 * a trailer), the CRLF cut off. */
static int chunk_head(struct s3_req *s) {
    struct s3_chunked *ch = &s->ch;
    char *semi = strchr(ch->line, ';'), *end;
    unsigned long long n;
    const char *tag = ";chunk-signature=";

    if (s->auth.payload == S3_PAY_TRAILER) {
        if (semi) *semi = '\0'; /* chunk extensions carry nothing for us */
    } else if (semi == NULL || semi == ch->line || strncmp(semi, tag, strlen(tag)) != 0 ||
               !is_hex64(semi + strlen(tag))) {
        return MKV_ERR;
    } else {
        memcpy(ch->sig, semi + strlen(tag), SIGV4_HEXLEN + 1);
        *semi = '\0';
    }
    if (strlen(ch->line) == 0 || strlen(ch->line) > 16 ||
        strspn(ch->line, "0123456789abcdefABCDEF") != strlen(ch->line))
        return MKV_ERR;
    n = strtoull(ch->line, &end, 16);
    if (*end != '\0') return MKV_ERR;
    if ((int64_t)n < 0 || s->got + (int64_t)n > s->dlen) return MKV_ERR;
    ch->left = n;
    ch->last = n == 0;
    ch->linelen = 0;
    if (s->auth.payload == S3_PAY_TRAILER) return MKV_OK;
    return EVP_DigestInit_ex(ch->h, EVP_sha256(), NULL) ? MKV_OK : MKV_ERR;
}

/* trailer_line -- one "name:value" after the last chunk (CRLF cut off). */
static int trailer_line(struct s3_req *s) {
    struct s3_chunked *ch = &s->ch;
    char *colon = strchr(ch->line, ':'), *v;
    size_t nl;
    if (colon == NULL) return MKV_ERR;
    nl = (size_t)(colon - ch->line);
    for (v = colon + 1; *v == ' '; v++)
        ;
    if (nl == strlen(ch->trailer) && strncasecmp(ch->line, ch->trailer, nl) == 0)
        snprintf(ch->claimed, sizeof(ch->claimed), "%s", v);
    return MKV_OK;
}

/* chunk_check -- the chunk is whole: does its signature chain? */
static int chunk_check(struct s3_req *s) {
    struct s3_chunked *ch = &s->ch;
    unsigned char d[32];
    unsigned int dn = 32;
    char hex[SIGV4_HEXLEN + 1], want[SIGV4_HEXLEN + 1];

    EVP_DigestFinal_ex(ch->h, d, &dn);
    sigv4_hex(d, 32, hex);
    sigv4_chunk_sign(s->auth.key, s->auth.amzdate, s->auth.scope, ch->prev, hex, want);
    if (!sigv4_equal(want, ch->sig)) return MKV_ERR;
    memcpy(ch->prev, ch->sig, sizeof(ch->prev));
    return MKV_OK;
}

/* take_line -- add byte c to the chunk header or trailer line: 1 once c
 * ends it with CRLF (the line is then NUL-terminated, CRLF dropped), 0
 * while it goes on, -1 (c not taken) when the line would be too long. */
static int take_line(struct s3_chunked *ch, char c) {
    if (ch->linelen >= sizeof(ch->line) - 1) return -1;
    ch->line[ch->linelen++] = c;
    if (ch->linelen < 2 || ch->line[ch->linelen - 2] != '\r' || ch->line[ch->linelen - 1] != '\n')
        return 0;
    ch->line[ch->linelen - 2] = '\0';
    return 1;
}

size_t s3auth_body(struct s3_req *s, const char *data, size_t n) {
    struct s3_chunked *ch = &s->ch;
    size_t i = 0;
    int line;

    if (s->auth.payload != S3_PAY_STREAMING && s->auth.payload != S3_PAY_TRAILER) {
        size_t took = s3_sink(s, data, n);
        if (s->sha) EVP_DigestUpdate(s->sha, data, took);
        s->got += (int64_t)took;
        return took;
    }
    while (i < n && s->ecode == NULL) {
        switch (ch->state) {
        case S3C_HEAD:
            if ((line = take_line(ch, data[i])) < 0) {
                s3_error(s, "InvalidRequest", "A malformed aws-chunked chunk header.");
                break;
            }
            i++;
            if (line) {
                if (chunk_head(s) != MKV_OK) {
                    s3_error(s, "InvalidRequest", "A malformed aws-chunked chunk header.");
                    break;
                }
                ch->state = ch->left > 0 ? S3C_DATA
                            : s->auth.payload == S3_PAY_TRAILER ? S3C_TRAILER : S3C_CRLF;
            }
            break;
        case S3C_TRAILER:
            if ((line = take_line(ch, data[i])) < 0) {
                s3_error(s, "InvalidRequest", "A malformed aws-chunked trailer.");
                break;
            }
            i++;
            if (line) {
                ch->linelen = 0;
                if (ch->line[0] == '\0') ch->state = S3C_DONE;
                else if (trailer_line(s) != MKV_OK)
                    s3_error(s, "InvalidRequest", "A malformed aws-chunked trailer.");
            }
            break;
        case S3C_DATA: {
            size_t offer = n - i < ch->left ? n - i : (size_t)ch->left;
            size_t took = s3_sink(s, data + i, offer);
            if (s->auth.payload == S3_PAY_TRAILER) checksum_update(&ch->sum, data + i, took);
            else EVP_DigestUpdate(ch->h, data + i, took);
            s->got += (int64_t)took;
            ch->left -= took;
            i += took;
            if (ch->left == 0) ch->state = S3C_CRLF;
            if (took < offer) return i; /* the sink is full */
            break;
        }
        case S3C_CRLF:
            if (data[i++] != (ch->linelen == 0 ? '\r' : '\n')) {
                s3_error(s, "InvalidRequest", "A malformed aws-chunked body.");
                break;
            }
            if (++ch->linelen < 2) break;
            ch->linelen = 0;
            if (s->auth.payload == S3_PAY_TRAILER) {
                ch->state = S3C_HEAD;
                break;
            }
            if (chunk_check(s) != MKV_OK) {
                s3_error(s, "SignatureDoesNotMatch",
                         "The chunk signature we calculated does not match the one you provided.");
                break;
            }
            ch->state = ch->last ? S3C_DONE : S3C_HEAD;
            break;
        case S3C_DONE:
            s3_error(s, "InvalidRequest", "Bytes after the last aws-chunked chunk.");
            break;
        }
    }
    return s->ecode ? n : i;
}

/* md5_matches -- Content-MD5 (base64) against md5 hex. */
static int md5_matches(struct s3_req *s, const char *b64, const char *hex) {
    unsigned char d[24];
    char h[33];
    if (strlen(b64) != 24 || EVP_DecodeBlock(d, (const unsigned char *)b64, 24) != 18) {
        s3_error(s, "InvalidDigest", "The Content-MD5 you specified is not valid.");
        return 0;
    }
    sigv4_hex(d, 16, h);
    if (strcmp(h, hex) != 0) {
        s3_error(s, "BadDigest", "The Content-MD5 you specified did not match what we received.");
        return 0;
    }
    return 1;
}

int s3auth_body_end(struct s3_req *s) {
    const char *cmd5 = s3_header(s, "Content-MD5");

    if ((s->auth.payload == S3_PAY_STREAMING || s->auth.payload == S3_PAY_TRAILER) &&
        (s->ch.state != S3C_DONE || s->got != s->dlen)) {
        s3_error(s, "IncompleteBody", "The aws-chunked body ended early.");
        return MKV_ERR;
    }
    if (s->auth.payload == S3_PAY_TRAILER) {
        char got[48];
        checksum_base64(&s->ch.sum, got);
        if (s->ch.claimed[0] == '\0') {
            s3_error(s, "InvalidRequest", "The trailer %s is missing.", s->ch.trailer);
            return MKV_ERR;
        }
        if (strcmp(got, s->ch.claimed) != 0) {
            s3_error(s, "BadDigest", "The %s you specified did not match the calculated "
                     "checksum.", s->ch.trailer + 15);
            return MKV_ERR;
        }
    }
    if (s->sha) {
        unsigned char d[32];
        unsigned int dn = 32;
        char hex[SIGV4_HEXLEN + 1];
        EVP_DigestFinal_ex(s->sha, d, &dn);
        sigv4_hex(d, 32, hex);
        if (strcmp(hex, s->auth.sha256) != 0) {
            s3_error(s, "XAmzContentSHA256Mismatch",
                     "The provided 'x-amz-content-sha256' header does not match what was "
                     "computed.");
            return MKV_ERR;
        }
    }
    if (cmd5 != NULL && s->body == S3_BODY_PUT && s->put != NULL &&
        !md5_matches(s, cmd5, put_md5(s->put)))
        return MKV_ERR;
    if (cmd5 != NULL && s->body == S3_BODY_XML) {
        unsigned char d[16];
        unsigned int dn = 16;
        char hex[33];
        EVP_Digest(s->xml.p ? s->xml.p : "", s->xml.len, d, &dn, EVP_md5(), NULL);
        sigv4_hex(d, 16, hex);
        if (!md5_matches(s, cmd5, hex)) return MKV_ERR;
    }
    return MKV_OK;
}
