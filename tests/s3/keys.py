# keys.py ENDPOINT NEWKEY NEWSECRET OLDKEY OLDSECRET -- after SIGHUP with a
# file holding only NEWKEY, it signs and OLDKEY no longer does.
import sys

from common import check, client, equal, error_code

ep, nk, ns, ok_, os_ = sys.argv[1:6]
check("after SIGHUP the new key signs", lambda: client(ep, nk, ns).list_buckets())
check("after SIGHUP the removed key is InvalidAccessKeyId", lambda: equal(
    "InvalidAccessKeyId", error_code(lambda: client(ep, ok_, os_).list_buckets())))
