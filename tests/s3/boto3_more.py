# boto3_more.py ENDPOINT KEY SECRET NATIVE_URL WORKDIR -- DeleteObjects,
# CopyObject, multipart upload (create, parts, list, complete, abort), what
# is not implemented, and the multipart object read back through both APIs.
import hashlib
import os
import sys
import urllib.request

from common import check, client, equal, error_code

ep, key, secret, native, work = sys.argv[1:6]
s3 = client(ep, key, secret)
s3.create_bucket(Bucket="more")

# DeleteObjects
for i in range(5):
    s3.put_object(Bucket="more", Key="del/%d" % i, Body=b"x%d" % i)
r = check("delete_objects of five keys and a missing one", lambda: s3.delete_objects(
    Bucket="more", Delete={"Objects": [{"Key": "del/%d" % i} for i in range(5)] + [{"Key": "del/none"}]}))
if r:
    check("delete_objects reports each key deleted", lambda: equal(
        sorted(["del/%d" % i for i in range(5)] + ["del/none"]), sorted(d["Key"] for d in r["Deleted"])))
check("the deleted keys are gone", lambda: equal(
    0, s3.list_objects_v2(Bucket="more", Prefix="del/")["KeyCount"]))
check("quiet delete_objects answers no Deleted entries", lambda: equal(
    [], s3.delete_objects(Bucket="more", Delete={"Objects": [{"Key": "del/0"}], "Quiet": True}).get("Deleted", [])))

# CopyObject
src = os.urandom(3 * 1024 * 1024 + 7)
s3.put_object(Bucket="more", Key="copy/src", Body=src)
c = check("copy_object within a bucket", lambda: s3.copy_object(
    Bucket="more", Key="copy/dst", CopySource={"Bucket": "more", "Key": "copy/src"}))
if c:
    check("the copy's ETag is the md5", lambda: equal(
        '"%s"' % hashlib.md5(src).hexdigest(), c["CopyObjectResult"]["ETag"]))
check("the copy reads back byte for byte", lambda: equal(
    src, s3.get_object(Bucket="more", Key="copy/dst")["Body"].read()))
s3.create_bucket(Bucket="more2")
check("copy_object across buckets, over an existing key", lambda: (
    s3.put_object(Bucket="more2", Key="there", Body=b"old"),
    s3.copy_object(Bucket="more2", Key="there", CopySource="more/copy/src"),
    equal(len(src), s3.head_object(Bucket="more2", Key="there")["ContentLength"]))[2])
check("copy of a missing source is NoSuchKey", lambda: equal(
    "NoSuchKey", error_code(lambda: s3.copy_object(
        Bucket="more", Key="copy/x", CopySource={"Bucket": "more", "Key": "copy/none"}))))
check("copy onto itself without REPLACE is InvalidRequest", lambda: equal(
    "InvalidRequest", error_code(lambda: s3.copy_object(
        Bucket="more", Key="copy/src", CopySource={"Bucket": "more", "Key": "copy/src"}))))
check("the source is untouched", lambda: equal(
    src, s3.get_object(Bucket="more", Key="copy/src")["Body"].read()))

# Not implemented is said, never a wrong success
check("put_object_acl is NotImplemented", lambda: equal(
    "NotImplemented", error_code(lambda: s3.put_object_acl(Bucket="more", Key="copy/src", ACL="private"))))
check("get_bucket_versioning is NotImplemented", lambda: equal(
    "NotImplemented", error_code(lambda: s3.get_bucket_versioning(Bucket="more"))))
