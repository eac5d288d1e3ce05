# boto3_basic.py ENDPOINT KEY SECRET NATIVE_URL WORKDIR -- buckets, objects,
# ranges, listings and errors through boto3 against the S3 endpoint.
import hashlib
import os
import sys
import urllib.request

from common import check, client, equal, error_code

ep, key, secret, native, work = sys.argv[1:6]
s3 = client(ep, key, secret)

check("create bucket alpha", lambda: s3.create_bucket(Bucket="alpha"))
check("create bucket beta", lambda: s3.create_bucket(Bucket="beta"))
check("list buckets names both", lambda: equal(
    ["alpha", "beta"], [b["Name"] for b in s3.list_buckets()["Buckets"]]))
check("head bucket of an existing bucket", lambda: s3.head_bucket(Bucket="alpha"))
check("head bucket of a missing bucket is 404", lambda: equal(
    "404", error_code(lambda: s3.head_bucket(Bucket="nope"))))
check("creating a bucket twice is BucketAlreadyOwnedByYou", lambda: equal(
    "BucketAlreadyOwnedByYou", error_code(lambda: s3.create_bucket(Bucket="alpha"))))
check("a bad bucket name is InvalidBucketName", lambda: equal(
    "InvalidBucketName", error_code(lambda: s3.create_bucket(Bucket="Bad_Name"))))

small = b"hello, s3\n"
check("put a small object", lambda: s3.put_object(Bucket="alpha", Key="small.txt", Body=small))
check("get the small object back byte for byte", lambda: equal(
    small, s3.get_object(Bucket="alpha", Key="small.txt")["Body"].read()))
head = check("head object", lambda: s3.head_object(Bucket="alpha", Key="small.txt"))
if head:
    check("head object has the length", lambda: equal(len(small), head["ContentLength"]))
    check("head object's ETag is the md5", lambda: equal(
        '"%s"' % hashlib.md5(small).hexdigest(), head["ETag"]))
    check("head object has Last-Modified", lambda: head["LastModified"].year >= 2024)

big = os.urandom(20 * 1024 * 1024)
check("put a 20 MiB object", lambda: s3.put_object(Bucket="alpha", Key="dir/big.bin", Body=big))
check("get the 20 MiB object back byte for byte", lambda: equal(
    hashlib.sha256(big).hexdigest(),
    hashlib.sha256(s3.get_object(Bucket="alpha", Key="dir/big.bin")["Body"].read()).hexdigest()))
r = check("a range get answers 206", lambda: s3.get_object(
    Bucket="alpha", Key="dir/big.bin", Range="bytes=1000-1999"))
if r:
    check("the range has the right bytes", lambda: equal(big[1000:2000], r["Body"].read()))
    check("the range has Content-Range", lambda: equal(
        "bytes 1000-1999/%d" % len(big), r["ContentRange"]))
check("an open-ended suffix range", lambda: equal(
    big[-10:], s3.get_object(Bucket="alpha", Key="dir/big.bin", Range="bytes=-10")["Body"].read()))
check("a range past the end is InvalidRange", lambda: equal(
    "InvalidRange", error_code(lambda: s3.get_object(
        Bucket="alpha", Key="small.txt", Range="bytes=100-200"))))
check("overwriting an object replaces its value", lambda: (
    s3.put_object(Bucket="alpha", Key="small.txt", Body=b"second"),
    equal(b"second", s3.get_object(Bucket="alpha", Key="small.txt")["Body"].read()))[1])
check("an empty object", lambda: (
    s3.put_object(Bucket="alpha", Key="empty", Body=b""),
    equal(b"", s3.get_object(Bucket="alpha", Key="empty")["Body"].read()))[1])

# listing
for k in ["list/a", "list/b/1", "list/b/2", "list/c", "list/d/x/y", "other"]:
    s3.put_object(Bucket="beta", Key=k, Body=k.encode())
check("list v2 with a prefix", lambda: equal(
    ["list/a", "list/b/1", "list/b/2", "list/c", "list/d/x/y"],
    [o["Key"] for o in s3.list_objects_v2(Bucket="beta", Prefix="list/")["Contents"]]))
lst = check("list v2 with a delimiter", lambda: s3.list_objects_v2(
    Bucket="beta", Prefix="list/", Delimiter="/"))
if lst:
    check("the delimiter gives the keys at this level", lambda: equal(
        ["list/a", "list/c"], [o["Key"] for o in lst["Contents"]]))
    check("the delimiter gives CommonPrefixes", lambda: equal(
        ["list/b/", "list/d/"], [p["Prefix"] for p in lst["CommonPrefixes"]]))
    check("listed sizes are the values' lengths", lambda: equal(
        [6, 6], [o["Size"] for o in lst["Contents"]]))


def pages_v2():
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket="beta", PaginationConfig={"PageSize": 2}):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def pages_v1():
    keys = []
    for page in s3.get_paginator("list_objects").paginate(
            Bucket="beta", PaginationConfig={"PageSize": 2}):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


every = ["list/a", "list/b/1", "list/b/2", "list/c", "list/d/x/y", "other"]
check("list v2 in pages of 2 with continuation tokens", lambda: equal(every, pages_v2()))
check("list v1 in pages of 2 with markers", lambda: equal(every, pages_v1()))
check("list v2 with start-after", lambda: equal(
    ["list/c", "list/d/x/y", "other"],
    [o["Key"] for o in s3.list_objects_v2(Bucket="beta", StartAfter="list/b/2")["Contents"]]))
check("list v2 with max-keys is truncated", lambda: equal(
    True, s3.list_objects_v2(Bucket="beta", MaxKeys=3)["IsTruncated"]))
check("list of a missing bucket is NoSuchBucket", lambda: equal(
    "NoSuchBucket", error_code(lambda: s3.list_objects_v2(Bucket="nobucket"))))

# errors
check("get of a missing key is NoSuchKey", lambda: equal(
    "NoSuchKey", error_code(lambda: s3.get_object(Bucket="alpha", Key="never"))))
check("get in a missing bucket is NoSuchBucket", lambda: equal(
    "NoSuchBucket", error_code(lambda: s3.get_object(Bucket="nobucket", Key="x"))))
check("head of a missing key is 404", lambda: equal(
    "404", error_code(lambda: s3.head_object(Bucket="alpha", Key="never"))))
bad = client(ep, key, "not-the-secret")
check("a wrong secret is SignatureDoesNotMatch", lambda: equal(
    "SignatureDoesNotMatch", error_code(lambda: bad.list_buckets())))
check("a wrong secret cannot put", lambda: equal(
    "SignatureDoesNotMatch", error_code(lambda: bad.put_object(Bucket="alpha", Key="x", Body=b"x"))))
check("the refused put left no key", lambda: equal(
    "NoSuchKey", error_code(lambda: s3.get_object(Bucket="alpha", Key="x"))))
unknown = client(ep, "NOSUCHKEY", secret)
check("an unknown access key is InvalidAccessKeyId", lambda: equal(
    "InvalidAccessKeyId", error_code(lambda: unknown.list_buckets())))
check("deleting a bucket that is not empty is BucketNotEmpty", lambda: equal(
    "BucketNotEmpty", error_code(lambda: s3.delete_bucket(Bucket="beta"))))

# cross-API
check("an object put through S3 reads through the native API", lambda: equal(
    small.replace(b"hello", b"cross"), (
        s3.put_object(Bucket="alpha", Key="cross/one", Body=small.replace(b"hello", b"cross")),
        urllib.request.urlopen(native + "/alpha/cross/one").read())[1]))


def native_put():
    req = urllib.request.Request(native + "/alpha/cross/two", data=b"from native", method="PUT")
    urllib.request.urlopen(req).read()
    return s3.get_object(Bucket="alpha", Key="cross/two")["Body"].read()


check("a value put through the native API reads through S3", lambda: equal(
    b"from native", native_put()))

# delete
check("delete an object", lambda: s3.delete_object(Bucket="alpha", Key="small.txt"))
check("the deleted object is gone", lambda: equal(
    "NoSuchKey", error_code(lambda: s3.get_object(Bucket="alpha", Key="small.txt"))))
check("deleting a missing object still succeeds", lambda: s3.delete_object(Bucket="alpha", Key="never"))
for k in every:
    s3.delete_object(Bucket="beta", Key=k)
check("delete an emptied bucket", lambda: s3.delete_bucket(Bucket="beta"))
check("the deleted bucket is gone", lambda: equal(
    ["alpha"], [b["Name"] for b in s3.list_buckets()["Buckets"]]))
