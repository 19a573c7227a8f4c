"""What awesome-compose's nginx-golang-mysql backend (main.go) does, in Python's standard library
plus pymysql (the python:3.11 replica has it): read the root password from the secret
/run/secrets/db-password, wait for `db`, recreate the `blog` table with five posts, then on every
request to :8000 query their titles and answer them as a JSON list."""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql


def connect():
    with open('/run/secrets/db-password') as f:
        password = f.read()
    return pymysql.connect(host='db', port=3306, user='root', password=password, database='example', connect_timeout=5)


def prepare():
    for _ in range(60):
        try:
            conn = connect()
            break
        except pymysql.err.OperationalError as e:
            print('waiting for db:', e, flush=True)
            time.sleep(1)
    else:
        sys.exit('db not reachable')
    try:
        cur = conn.cursor()
        cur.execute('DROP TABLE IF EXISTS blog')
        cur.execute('CREATE TABLE IF NOT EXISTS blog (id int NOT NULL AUTO_INCREMENT, title varchar(500), PRIMARY KEY (id))')
        for i in range(5):
            cur.execute('INSERT INTO blog (title) VALUES (%s);', ('Blog post #%d' % i,))
        conn.commit()
    finally:
        conn.close()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            conn = connect()
            try:
                cur = conn.cursor()
                cur.execute('SELECT title FROM blog')
                titles = [row[0] for row in cur.fetchall()]
            finally:
                conn.close()
            status, data = 200, (json.dumps(titles, separators=(',', ':')) + '\n').encode()
        except Exception as e:  # upstream answers 500 with the error
            status, data = 500, ('%s\n' % e).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json' if status == 200 else 'text/plain')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == '__main__':
    print('Prepare db...', flush=True)
    prepare()
    print('Listening 8000', flush=True)
    ThreadingHTTPServer(('0.0.0.0', 8000), Handler).serve_forever()
