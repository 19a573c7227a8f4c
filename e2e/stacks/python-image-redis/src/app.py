"""The e2e app: GET / says hello; GET /health writes a row to its database and a key to its cache
and answers 200 with what it reached, or 500 with the error. Settings from the environment:
DATABASE_URL (postgres:// or mysql://) or DB_KIND/DB_HOST/DB_USER/DB_PASSWORD[_FILE]/DB_NAME;
REDIS_HOST, REDIS_PASSWORD[_FILE] (or REDIS_URL). Writes nothing to its own filesystem."""
import json, os, socket, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, unquote


def setting(name, default=None):
    if os.environ.get(name):
        return os.environ[name]
    path = os.environ.get(name + '_FILE')
    if path:
        with open(path) as f:
            return f.read().strip()
    return default


def db_check():
    url = setting('DATABASE_URL')
    if url:
        u = urlparse(url)
        kind, host, port, user, password, name = u.scheme, u.hostname, u.port, unquote(u.username or ''), unquote(u.password or ''), u.path.lstrip('/')
    else:
        kind, host, port = setting('DB_KIND'), setting('DB_HOST'), setting('DB_PORT')
        user, password, name = setting('DB_USER'), setting('DB_PASSWORD'), setting('DB_NAME')
    if not kind:
        return None
    if kind.startswith('postgres'):
        import psycopg2
        conn = psycopg2.connect(host=host, port=int(port or 5432), user=user, password=password, dbname=name, connect_timeout=5)
    else:
        import pymysql
        conn = pymysql.connect(host=host, port=int(port or 3306), user=user, password=password, database=name, connect_timeout=5)
    try:
        cur = conn.cursor()
        cur.execute('CREATE TABLE IF NOT EXISTS visits (host VARCHAR(64))')
        cur.execute('INSERT INTO visits (host) VALUES (%s)', (socket.gethostname(),))
        cur.execute('SELECT COUNT(*) FROM visits')
        count = cur.fetchone()[0]
        conn.commit()
    finally:
        conn.close()
    return {'kind': kind, 'host': host, 'rows': count}


def cache_check():
    url = setting('REDIS_URL')
    host = setting('REDIS_HOST')
    if not url and not host:
        return None
    import redis
    r = redis.Redis.from_url(url, socket_timeout=5) if url else redis.Redis(host=host, password=setting('REDIS_PASSWORD'), socket_timeout=5)
    hits = r.incr('e2e:hits')
    return {'host': host or urlparse(url).hostname, 'hits': hits}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, body = 200, {'app': os.environ.get('APP_NAME', 'app'), 'uid': os.getuid()}
        if self.path.startswith('/health'):
            for key, check in (('db', db_check), ('cache', cache_check)):
                try:
                    got = check()
                    if got is not None:
                        body[key] = 'ok'
                        body[key + '_detail'] = got
                except Exception as e:  # the answer says what failed
                    status = 500
                    body[key] = 'error: %s' % e
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write('%s %s\n' % (self.address_string(), fmt % args))


if __name__ == '__main__':
    port = int(os.environ.get('PORT', '8000'))
    print('app listening on', port, flush=True)
    ThreadingHTTPServer(('0.0.0.0', port), Handler).serve_forever()
