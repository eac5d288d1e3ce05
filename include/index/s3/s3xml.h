/* s3xml.h -- a small, strict reader for the XML bodies S3 clients send
 * (Delete, CompleteMultipartUpload, CreateBucketConfiguration): elements,
 * attributes (skipped), text with the five named entities and numeric
 * character references, the XML declaration and comments. No DTDs, no
 * CDATA, no processing instructions beyond the declaration: anything
 * else is malformed. */
#ifndef MKV_S3XML_H
#define MKV_S3XML_H

#include <stddef.h>

#include "mkv.h"

#define S3XML_DEPTH 8             /* deeper documents are refused */
#define S3XML_NAME 64             /* longer element names are refused */

/* s3xml_parse -- walk xml[0..n). For every element closed, fn gets the
 * path of element names from the root (namespace prefixes dropped),
 * depth deep, and its text (entity-decoded; text of child elements not
 * included), len bytes, NUL-terminated. fn returns MKV_OK to go on.
 * MKV_ERR when malformed (or fn refused). */
int s3xml_parse(const char *xml, size_t n,
                int (*fn)(void *arg, char path[][S3XML_NAME], int depth, const char *text,
                          size_t len),
                void *arg);

#endif
