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

# Multipart upload
MiB = 1024 * 1024
parts = [os.urandom(5 * MiB), os.urandom(5 * MiB + 3), os.urandom(1234)]
up = check("create_multipart_upload", lambda: s3.create_multipart_upload(Bucket="more", Key="mp/obj"))
uid = up["UploadId"] if up else "none"
etags = []
for i, data in enumerate(parts):
    r = check("upload_part %d" % (i + 1), lambda: s3.upload_part(
        Bucket="more", Key="mp/obj", UploadId=uid, PartNumber=i + 1, Body=data))
    etags.append(r["ETag"] if r else None)
check("each part's ETag is its md5", lambda: equal(
    ['"%s"' % hashlib.md5(p).hexdigest() for p in parts], etags))
check("re-uploading a part replaces it", lambda: equal(
    etags[2], s3.upload_part(Bucket="more", Key="mp/obj", UploadId=uid, PartNumber=3,
                             Body=parts[2])["ETag"]))
lp = check("list_parts names the three parts", lambda: s3.list_parts(
    Bucket="more", Key="mp/obj", UploadId=uid))
if lp:
    check("list_parts gives numbers and sizes", lambda: equal(
        [(1, len(parts[0])), (2, len(parts[1])), (3, len(parts[2]))],
        [(p["PartNumber"], p["Size"]) for p in lp["Parts"]]))
check("the parts are not in the native listing", lambda: equal(
    [], [k for k in __import__("json").loads(urllib.request.urlopen(native + "/?list").read())["keys"]
         if k.startswith("/.s3/")]))
check("parts out of order are InvalidPartOrder", lambda: equal(
    "InvalidPartOrder", error_code(lambda: s3.complete_multipart_upload(
        Bucket="more", Key="mp/obj", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]}))))
check("a wrong part ETag is InvalidPart", lambda: equal(
    "InvalidPart", error_code(lambda: s3.complete_multipart_upload(
        Bucket="more", Key="mp/obj", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": '"%s"' % ("0" * 32)}]}))))
want_etag = '"%s-3"' % hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
done = check("complete_multipart_upload", lambda: s3.complete_multipart_upload(
    Bucket="more", Key="mp/obj", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]}))
if done:
    check("the completed ETag is S3's multipart form", lambda: equal(want_etag, done["ETag"]))
whole = b"".join(parts)
check("the completed object reads back as one value", lambda: equal(
    hashlib.sha256(whole).hexdigest(),
    hashlib.sha256(s3.get_object(Bucket="more", Key="mp/obj")["Body"].read()).hexdigest()))
check("head_object has the multipart ETag and the whole length", lambda: equal(
    (want_etag, len(whole)), (lambda h: (h["ETag"], h["ContentLength"]))(
        s3.head_object(Bucket="more", Key="mp/obj"))))
check("the completed object reads back through the native redirect", lambda: equal(
    hashlib.sha256(whole).hexdigest(),
    hashlib.sha256(urllib.request.urlopen(native + "/more/mp/obj").read()).hexdigest()))
check("the upload is gone once completed", lambda: equal(
    "NoSuchUpload", error_code(lambda: s3.list_parts(Bucket="more", Key="mp/obj", UploadId=uid))))
small = s3.create_multipart_upload(Bucket="more", Key="mp/small")["UploadId"]
e1 = s3.upload_part(Bucket="more", Key="mp/small", UploadId=small, PartNumber=1, Body=b"a")["ETag"]
e2 = s3.upload_part(Bucket="more", Key="mp/small", UploadId=small, PartNumber=2, Body=b"b")["ETag"]
check("a part smaller than 5 MiB but the last is EntityTooSmall", lambda: equal(
    "EntityTooSmall", error_code(lambda: s3.complete_multipart_upload(
        Bucket="more", Key="mp/small", UploadId=small, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]}))))
s3.abort_multipart_upload(Bucket="more", Key="mp/small", UploadId=small)
ab = s3.create_multipart_upload(Bucket="more", Key="mp/aborted")["UploadId"]
s3.upload_part(Bucket="more", Key="mp/aborted", UploadId=ab, PartNumber=1, Body=b"gone soon")
check("abort_multipart_upload", lambda: s3.abort_multipart_upload(
    Bucket="more", Key="mp/aborted", UploadId=ab))
check("the aborted upload is NoSuchUpload", lambda: equal(
    "NoSuchUpload", error_code(lambda: s3.upload_part(
        Bucket="more", Key="mp/aborted", UploadId=ab, PartNumber=2, Body=b"x"))))
check("the aborted upload made no object", lambda: equal(
    "NoSuchKey", error_code(lambda: s3.get_object(Bucket="more", Key="mp/aborted"))))
check("an unknown upload id is NoSuchUpload", lambda: equal(
    "NoSuchUpload", error_code(lambda: s3.upload_part(
        Bucket="more", Key="mp/obj", UploadId="0" * 32, PartNumber=1, Body=b"x"))))
