#!/usr/bin/env python3
"""nginx_golden.py TEMPLATE OUTDIR -- write the golden nginx configs that
tests/unit/test_nginxconf.c expects for its two volumes, computed here
independently of the C code. Run it again after changing the template:
    python3 tests/unit/golden/nginx_golden.py conf/nginx-volume.conf.in tests/unit/golden
"""
import os
import sys


def temp_paths(state, modules):
    return "".join('    %s_temp_path "%s/%s";\n' % (m, state, m) for m in modules)


def writers(cidrs):
    if not cidrs:
        return "# Anyone may PUT and DELETE (mkv-volume --writers limits that)."
    lines = ["# Only --writers may PUT and DELETE; GET and HEAD are open.",
             "            limit_except GET {"]
    lines += ["                allow %s;" % c for c in cidrs]
    lines += ["                deny all;", "            }"]
    return "\n".join(lines)


def render(template, root, user, group, port, cidrs, modules):
    state = root + "/.nginx"
    if user:
        user_directive = 'user "%s" "%s";' % (user, group)
    else:
        user_directive = "# not run as root: workers keep the launcher's user"
    values = {
        "PID_FILE": '"%s/nginx.pid"' % state,
        "USER_DIRECTIVE": user_directive,
        "BODY_TEMP": '"%s/body"' % state,
        "OTHER_TEMP_PATHS": temp_paths(state, modules),
        "PORT": str(port),
        "ROOT": '"%s"' % root,
        "WRITERS": writers(cidrs),
    }
    for name, value in values.items():
        template = template.replace("@%s@" % name, value)
    return template


def main():
    template = open(sys.argv[1]).read()
    out = sys.argv[2]
    # As root, writers limited, an nginx with every module.
    with open(os.path.join(out, "nginx-root.conf"), "w") as f:
        f.write(render(template, "/srv/vol", "www-data", "adm", 3001,
                       ["127.0.0.1", "::1/128", "10.0.0.0/8"],
                       ["proxy", "fastcgi", "uwsgi", "scgi"]))
    # Not root, anyone writes, an nginx without fastcgi and scgi.
    with open(os.path.join(out, "nginx-user.conf"), "w") as f:
        f.write(render(template, "/tmp/a volume", "", "", 65535, [],
                       ["proxy", "uwsgi"]))


main()
