/* s3multi.c -- S3 multipart uploads. */
#include "s3.h"

void s3multi_create_run(struct s3_req *s) { s3_error(s, "NotImplemented", "multipart upload is not implemented yet"); }
void s3multi_part_begin(struct s3_req *s) { s3_error(s, "NotImplemented", "multipart upload is not implemented yet"); }
void s3multi_part_run(struct s3_req *s) { (void)s; }
void s3multi_complete_run(struct s3_req *s) { s3_error(s, "NotImplemented", "multipart upload is not implemented yet"); }
void s3multi_abort_run(struct s3_req *s) { s3_error(s, "NotImplemented", "multipart upload is not implemented yet"); }
void s3multi_list_parts_run(struct s3_req *s) { s3_error(s, "NotImplemented", "multipart upload is not implemented yet"); }
void s3multi_sweep(void) {}
