# rawsig.py -- a small Signature Version 4 client written from AWS's
# description, independent of botocore and of the server's C code: it signs
# requests with a hex SHA-256, UNSIGNED-PAYLOAD or aws-chunked
# (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) body, and can tamper with them.
import datetime
import hashlib
import hmac
import http.client
import urllib.parse

EMPTY = hashlib.sha256(b"").hexdigest()


def _h(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret, date, region="us-east-1"):
    k = _h(("AWS4" + secret).encode(), date)
    return _h(_h(_h(k, region), "s3"), "aws4_request")


def _enc(s, safe):
    return urllib.parse.quote(s, safe=safe)


class Client:
    def __init__(self, host, port, key, secret):
        self.host, self.port, self.key, self.secret = host, port, key, secret

    def _sign(self, method, path, query, headers, payload_hash, when):
        amzdate = when.strftime("%Y%m%dT%H%M%SZ")
        date = amzdate[:8]
        headers = dict(headers)
        headers["host"] = "%s:%d" % (self.host, self.port)
        headers["x-amz-date"] = amzdate
        headers["x-amz-content-sha256"] = payload_hash
        names = sorted(k.lower() for k in headers)
        canon_headers = "".join("%s:%s\n" % (n, " ".join(str(headers[k]).split()))
                                for n in names for k in headers if k.lower() == n)
        canon_query = "&".join("%s=%s" % (_enc(k, "-_.~"), _enc(v, "-_.~"))
                               for k, v in sorted(query.items()))
        canon = "\n".join([method, _enc(path, "/-_.~"), canon_query, canon_headers,
                           ";".join(names), payload_hash])
        scope = "%s/us-east-1/s3/aws4_request" % date
        sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amzdate, scope,
                                                 hashlib.sha256(canon.encode()).hexdigest())
        key = signing_key(self.secret, date)
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                                    "Signature=%s" % (self.key, scope, ";".join(names), sig))
        return headers, key, scope, amzdate, sig

    def request(self, method, path, body=b"", query=None, headers=None, mode="sha256",
                claim=None, when=None, chunk=65536, tamper_chunk=None):
        """Send; mode is sha256 (claim: the hash to state), unsigned,
        streaming (aws-chunked, chunk bytes a chunk; tamper_chunk: index
        of a chunk whose data is changed after signing) or trailer
        (aws-chunked unsigned with a CRC32 trailer; tamper_chunk set: a
        wrong CRC). Returns (status, body)."""
        query = query or {}
        headers = dict(headers or {})
        when = when or datetime.datetime.utcnow()
        if mode == "sha256":
            payload = claim or hashlib.sha256(body).hexdigest()
        elif mode == "unsigned":
            payload = "UNSIGNED-PAYLOAD"
        elif mode == "trailer":
            payload = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
            headers["x-amz-decoded-content-length"] = str(len(body))
            headers["Content-Encoding"] = "aws-chunked"
            headers["x-amz-trailer"] = "x-amz-checksum-crc32"
        else:
            payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
            headers["x-amz-decoded-content-length"] = str(len(body))
            headers["Content-Encoding"] = "aws-chunked"
        headers, key, scope, amzdate, seed = self._sign(method, path, query, headers, payload,
                                                        when)
        if mode == "streaming":
            out, prev = [], seed
            pieces = [body[i:i + chunk] for i in range(0, len(body), chunk)] + [b""]
            for n, data in enumerate(pieces):
                sts = "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s" % (
                    amzdate, scope, prev, EMPTY, hashlib.sha256(data).hexdigest())
                sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
                if tamper_chunk == n and data:
                    data = bytes([data[0] ^ 1]) + data[1:]
                out.append(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(data), sig.encode(), data))
                prev = sig
            body = b"".join(out)
        if mode == "trailer":
            import base64
            import zlib
            crc = zlib.crc32(body) ^ (1 if tamper_chunk is not None else 0)
            pieces = [body[i:i + chunk] for i in range(0, len(body), chunk)]
            body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + (
                b"0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % base64.b64encode(crc.to_bytes(4, "big")))
        url = _enc(path, "/-_.~")
        if query:
            url += "?" + "&".join("%s=%s" % (_enc(k, "-_.~"), _enc(v, "-_.~"))
                                  for k, v in query.items())
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers["Content-Length"] = str(len(body))
        conn.request(method, url, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, data
