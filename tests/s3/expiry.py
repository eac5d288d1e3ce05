# expiry.py ENDPOINT KEY SECRET -- an upload left alone past
# --s3-upload-expiry (2 s here) is aborted by the sweep that the next
# requests run.
import sys
import time

from common import check, client, equal, error_code

ep, key, secret = sys.argv[1:4]
s3 = client(ep, key, secret)
s3.create_bucket(Bucket="expiry")
uid = s3.create_multipart_upload(Bucket="expiry", Key="left")["UploadId"]
check("a part of an upload left alone is stored", lambda: s3.upload_part(
    Bucket="expiry", Key="left", UploadId=uid, PartNumber=1, Body=b"p" * 1000))
time.sleep(3.5)
s3.list_buckets()  # a request runs the sweep
time.sleep(1)
s3.list_buckets()
check("past the expiry the upload is gone", lambda: equal(
    "NoSuchUpload", error_code(lambda: s3.list_parts(Bucket="expiry", Key="left", UploadId=uid))))
