# common.py -- shared by the S3 client scripts of tests/integration/test_s3.sh:
# each check prints "ok - NAME" or "not ok - NAME (DETAIL)", which the shell
# test counts; a script never stops at a failed check.
import sys
import traceback

failed = 0


def check(name, fn):
    """Run fn(); a true result (or None) passes, False or an exception fails."""
    global failed
    try:
        r = fn()
        if r is False:
            raise AssertionError("returned False")
        print("ok - %s" % name, flush=True)
        return r
    except Exception as e:  # the test reports, it does not stop
        failed += 1
        detail = "%s: %s" % (type(e).__name__, e)
        print("not ok - %s (%s)" % (name, detail.replace("\n", " ")[:300]), flush=True)
        traceback.print_exc(file=sys.stderr)
        return None


def error_code(fn):
    """The S3 error code fn() raised (botocore ClientError), or None."""
    from botocore.exceptions import ClientError
    try:
        fn()
    except ClientError as e:
        return e.response.get("Error", {}).get("Code")
    return None


def equal(want, got):
    if want != got:
        raise AssertionError("want %r, got %r" % (want, got))
    return True


def client(endpoint, key, secret, **kw):
    import boto3
    from botocore.config import Config
    cfg = Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                 retries={"max_attempts": 1}, connect_timeout=10, read_timeout=60, **kw)
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key,
                        aws_secret_access_key=secret, region_name="us-east-1", config=cfg)
