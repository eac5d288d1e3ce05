# signing.py ENDPOINT KEY SECRET NATIVE_URL WORKDIR -- what the endpoint
# checks: presigned URLs (good, tampered, expired), payload hashes (hex
# SHA-256, UNSIGNED-PAYLOAD), aws-chunked chunk signatures, Content-MD5,
# clock skew; a body whose hash does not match leaves nothing behind.
import base64
import datetime
import hashlib
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from common import check, client, equal, error_code
from rawsig import Client

ep, key, secret, native, work = sys.argv[1:6]
s3 = client(ep, key, secret)
u = urllib.parse.urlparse(ep)
raw = Client(u.hostname, u.port, key, secret)
s3.create_bucket(Bucket="sig")


def code_of(status_body):
    status, body = status_body
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return status, m.group(1).decode() if m else None


def http(method, url, data=None):
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# presigned URLs
s3.put_object(Bucket="sig", Key="pre.txt", Body=b"presigned value")
url = s3.generate_presigned_url("get_object", Params={"Bucket": "sig", "Key": "pre.txt"},
                                ExpiresIn=300)
check("a presigned GET reads the object", lambda: equal((200, b"presigned value"), http("GET", url)))
tampered = url.replace("pre.txt", "pre.txx")
check("a presigned URL for another key is SignatureDoesNotMatch", lambda: equal(
    (403, "SignatureDoesNotMatch"), code_of(http("GET", tampered))))
sig = re.search(r"X-Amz-Signature=([0-9a-f]+)", url).group(1)
flipped = url.replace(sig, ("0" if sig[0] != "0" else "1") + sig[1:])
check("a presigned URL with a changed signature is SignatureDoesNotMatch", lambda: equal(
    (403, "SignatureDoesNotMatch"), code_of(http("GET", flipped))))
longer = re.sub(r"X-Amz-Expires=\d+", "X-Amz-Expires=600000", url)
check("a presigned URL with a changed expiry is SignatureDoesNotMatch", lambda: equal(
    (403, "SignatureDoesNotMatch"), code_of(http("GET", longer))))
short = s3.generate_presigned_url("get_object", Params={"Bucket": "sig", "Key": "pre.txt"},
                                  ExpiresIn=1)
time.sleep(2.5)
check("an expired presigned URL is AccessDenied", lambda: equal(
    (403, "AccessDenied"), code_of(http("GET", short))))
put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "sig", "Key": "pre-put"},
                                    ExpiresIn=300)
check("a presigned PUT stores the body", lambda: (
    equal(200, http("PUT", put_url, b"put by url")[0]),
    equal(b"put by url", s3.get_object(Bucket="sig", Key="pre-put")["Body"].read()))[1])

# payload hashes
body = os.urandom(300000)
check("a hex SHA-256 payload is accepted", lambda: equal(
    200, raw.request("PUT", "/sig/hashed", body)[0]))
check("the hashed object reads back", lambda: equal(
    body, s3.get_object(Bucket="sig", Key="hashed")["Body"].read()))
wrong = hashlib.sha256(b"something else").hexdigest()
check("a body that does not match its SHA-256 is XAmzContentSHA256Mismatch", lambda: equal(
    (400, "XAmzContentSHA256Mismatch"), code_of(raw.request("PUT", "/sig/mismatch", body, claim=wrong))))
check("the mismatched body left no object", lambda: equal(
    "NoSuchKey", error_code(lambda: s3.head_object(Bucket="sig", Key="mismatch")) and "NoSuchKey"))
check("and no native key", lambda: equal(404, http("GET", native + "/sig/mismatch")[0]))
check("a mismatched body over an object keeps the old value", lambda: (
    equal((400, "XAmzContentSHA256Mismatch"), code_of(raw.request("PUT", "/sig/hashed", b"x" * 1000, claim=wrong))),
    equal(body, s3.get_object(Bucket="sig", Key="hashed")["Body"].read()))[1])
check("UNSIGNED-PAYLOAD is accepted", lambda: (
    equal(200, raw.request("PUT", "/sig/unsigned", b"no hash", mode="unsigned")[0]),
    equal(b"no hash", s3.get_object(Bucket="sig", Key="unsigned")["Body"].read()))[1])
md5 = base64.b64encode(hashlib.md5(b"md5 body").digest()).decode()
check("a matching Content-MD5 is accepted", lambda: equal(
    200, raw.request("PUT", "/sig/md5", b"md5 body", headers={"Content-MD5": md5})[0]))
check("a wrong Content-MD5 is BadDigest", lambda: equal(
    (400, "BadDigest"), code_of(raw.request("PUT", "/sig/md5bad", b"other body",
                                            headers={"Content-MD5": md5}))))
check("the BadDigest body left no object", lambda: equal(404, http("GET", native + "/sig/md5bad")[0]))
old = datetime.datetime.utcnow() - datetime.timedelta(hours=1)
check("a request signed an hour ago is RequestTimeTooSkewed", lambda: equal(
    (403, "RequestTimeTooSkewed"), code_of(raw.request("GET", "/sig/hashed", when=old))))
def _tampered_header():
    hdrs, _, _, _, _ = raw._sign("GET", "/sig/hashed", {}, {}, hashlib.sha256(b"").hexdigest(),
                                 datetime.datetime.utcnow())
    hdrs["x-amz-date"] = (datetime.datetime.utcnow() + datetime.timedelta(seconds=5)).strftime(
        "%Y%m%dT%H%M%SZ")
    import http.client as hc
    c = hc.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("GET", "/sig/hashed", headers=hdrs)
    r = c.getresponse()
    return r.status, r.read()


check("a signed header changed after signing is SignatureDoesNotMatch", lambda: equal(
    (403, "SignatureDoesNotMatch"), code_of(_tampered_header())))

# aws-chunked
big = os.urandom(3 * 1024 * 1024 + 12345)
check("an aws-chunked upload with chunk signatures is accepted", lambda: equal(
    200, raw.request("PUT", "/sig/chunked", big, mode="streaming")[0]))
check("the aws-chunked object reads back byte for byte", lambda: equal(
    hashlib.sha256(big).hexdigest(),
    hashlib.sha256(s3.get_object(Bucket="sig", Key="chunked")["Body"].read()).hexdigest()))
check("small aws-chunked chunks work too", lambda: (
    equal(200, raw.request("PUT", "/sig/chunked-small", b"abcdefghij" * 100, mode="streaming",
                           chunk=7)[0]),
    equal(b"abcdefghij" * 100, s3.get_object(Bucket="sig", Key="chunked-small")["Body"].read()))[1])
check("a tampered aws-chunked chunk is SignatureDoesNotMatch", lambda: equal(
    (403, "SignatureDoesNotMatch"), code_of(raw.request("PUT", "/sig/chunked-bad", big,
                                                        mode="streaming", tamper_chunk=2))))
check("the tampered upload left no object", lambda: equal(404, http("GET", native + "/sig/chunked-bad")[0]))
check("a tampered last chunk over an object keeps the old value", lambda: (
    equal((403, "SignatureDoesNotMatch"), code_of(raw.request(
        "PUT", "/sig/chunked", b"z" * 100, mode="streaming", tamper_chunk=0))),
    equal(len(big), s3.head_object(Bucket="sig", Key="chunked")["ContentLength"]))[1])

# aws-chunked with a checksum trailer (what newer SDKs send over HTTPS)
check("an unsigned aws-chunked upload with a CRC32 trailer is accepted", lambda: (
    equal(200, raw.request("PUT", "/sig/trailer", big, mode="trailer", chunk=100000)[0]),
    equal(hashlib.sha256(big).hexdigest(), hashlib.sha256(
        s3.get_object(Bucket="sig", Key="trailer")["Body"].read()).hexdigest()))[1])
check("a wrong CRC32 trailer is BadDigest", lambda: equal(
    (400, "BadDigest"), code_of(raw.request("PUT", "/sig/trailer-bad", big, mode="trailer",
                                            tamper_chunk=0))))
check("the BadDigest trailer upload left no object", lambda: equal(
    404, http("GET", native + "/sig/trailer-bad")[0]))
