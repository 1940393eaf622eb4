#!/usr/bin/env python3
"""Filing load for the fault scripts (standard library only, Python 3.11+).

Several threads file appeals with POST /api/v1/appeals (signed-in citizens) or
POST /api/v1/public/appeals (guests), each request with its own Idempotency-Key. A request
that is not acknowledged (connection refused or reset, timeout, 5xx, 408, 429) is sent
again with the SAME key and the same body until the server acknowledges it with 201, so a
fault in the server or the database may delay an appeal but must neither lose nor double it.

Every acknowledgement is appended at once to --acks as one JSON line
  {"key", "appeal_id", "tracking_number", "user_id" (null for guests), "attempts", ...}
and the appeal's text carries the key ("Рақами дохилӣ: KEY" / "Внутренний номер: KEY"), so the
database can be searched for appeals filed twice under one key.

Stops issuing new appeals after --duration seconds, or after --count acknowledged appeals,
or when the file --stop-file appears; requests already started are retried to the end (up
to --give-up-secs each). Prints a JSON summary on stdout (and to --summary).

  filer.py --base http://127.0.0.1:8080 --accounts accounts.json --acks acks.jsonl \
           --threads 8 --duration 180 [--guest-share 0.3] [--count N]
"""

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
import uuid

# (category, region, district or None); all in config/demo/{categories,territories}.toml.
PLACES = [
    ("tj-dushanbe", "tj-dushanbe-sino"),
    ("tj-dushanbe", "tj-dushanbe-firdavsi"),
    ("tj-dushanbe", "tj-dushanbe-shohmansur"),
    ("tj-dushanbe", "tj-dushanbe-ismoili-somoni"),
    ("tj-dushanbe", None),
    ("tj-sughd", "tj-sughd-khujand"),
    ("tj-sughd", "tj-sughd-istaravshan"),
    ("tj-sughd", "tj-sughd-panjakent"),
    ("tj-khatlon", "tj-khatlon-bokhtar"),
    ("tj-khatlon", "tj-khatlon-kulob"),
]

STREETS_TG = ["Рӯдакӣ", "Айнӣ", "Сино", "Фирдавсӣ", "Исмоили Сомонӣ", "Бохтар", "Ҳофизи Шерозӣ"]
STREETS_RU = ["Рудаки", "Айни", "Шотемура", "Бохтар", "Мирзо Турсунзаде", "Лахути"]

# (language, kind, category, subject, text); {street}, {n} are filled in per appeal.
TEXTS = [
    ("tg", "application", "water-supply", "Набудани оби нӯшокӣ дар маҳалла",
     "Ассалому алайкум! Зиёда аз як ҳафта аст, ки дар кӯчаи {street} оби нӯшокӣ танҳо шабона "
     "меояд ва фишораш хеле паст аст. Сокинон обро аз ҷӯй мебардоранд. Хоҳиш мекунам, ки сабаби "
     "қатъшавиро муайян карда, таъминоти доимиро барқарор намоед."),
    ("tg", "complaint", "electricity", "Қатъи барқ дар фасли зимистон",
     "Дар маҳаллаи мо ҳар рӯз аз соати 18:00 то 22:00 барқ қатъ мешавад. Кӯдакон дарс тайёр карда "
     "наметавонанд, пиронсолон дар хонаҳои хунук мемонанд. Лутфан ҷадвали тақсимоти барқро шарҳ "
     "диҳед ва трансформатори кӯҳнаи назди хонаи {n}-ро иваз кунед."),
    ("tg", "application", "schools", "Таъмири боми мактаб",
     "Боми мактаби рақами {n} чакра мекунад ва девори се синфхона нам шудааст. Падару модарон аз "
     "саломатии кӯдакон нигаронанд. Хоҳиш дорем, ки таъмири бом пеш аз барфборӣ анҷом дода шавад."),
    ("tg", "complaint", "waste-collection", "Партовҳо ҷамъоварӣ намешаванд",
     "Мошини партовкашонӣ ду ҳафта боз ба кӯчаи {street} наомадааст. Дар назди бинои {n} партов "
     "ҷамъ шуда, бӯи нохуш паҳн мекунад. Илтимос, ҷадвали ҷамъоварии партовҳоро барқарор намоед."),
    ("tg", "request", "hospitals", "Навбати қабул дар беморхона",
     "Дар беморхонаи ноҳиявӣ навбат барои маслиҳати кардиолог як моҳ аст. Падарам бемори дил аст "
     "ва интизор шуда наметавонад. Хоҳиш мекунам маълум кунед, ки қабули фаврӣ чӣ тавр имкон дорад."),
    ("tg", "proposal", "kindergartens", "Пешниҳод оид ба кӯдакистони нав",
     "Дар ноҳияи мо танҳо як кӯдакистон фаъол аст ва навбат барои қабул ду сол тӯл мекашад. "
     "Пешниҳод мекунам, ки бинои холии клуби собиқ дар кӯчаи {street} ба кӯдакистон табдил дода шавад."),
    ("ru", "application", "heating", "Нет отопления в доме",
     "Здравствуйте! В доме № {n} по улице {street} с начала ноября не работает центральное "
     "отопление, батареи холодные. В квартирах живут пожилые люди и маленькие дети. Прошу принять "
     "меры и сообщить сроки восстановления отопления."),
    ("ru", "complaint", "gas", "Перебои с подачей газа",
     "Третью неделю газ подаётся только ночью, днём давление почти нулевое, готовить пищу "
     "невозможно. Обращения в районную газовую службу результата не дали. Прошу разобраться."),
    ("ru", "complaint", "health-care", "Очереди в поликлинике",
     "В поликлинике № {n} талоны к терапевту заканчиваются в первые полчаса работы регистратуры. "
     "Больные люди стоят в очереди с шести утра на улице. Прошу организовать запись по телефону."),
    ("ru", "request", "social-protection", "О сроках назначения пособия",
     "Прошу сообщить, на каком этапе рассмотрение моего заявления о назначении пособия по уходу "
     "за ребёнком, поданного два месяца назад в отдел соцзащиты на улице {street}."),
    ("ru", "application", "sewerage", "Прорыв канализации во дворе",
     "Во дворе дома № {n} по улице {street} прорвало канализационную трубу, сточные воды стоят у "
     "подъезда и затекают в подвал. Прошу срочно направить аварийную бригаду."),
    ("ru", "proposal", "medicines", "Предложение по наличию инсулина",
     "В аптеках района уже две недели нет инсулина. Предлагаю публиковать на сайте министерства "
     "остатки жизненно важных лекарств по аптекам, чтобы больные не искали их наугад."),
]

MARKER = {"tg": "Рақами дохилӣ", "ru": "Внутренний номер"}
NAMES = ["Фарзона Раҳимова", "Бахтиёр Назаров", "Малика Саидова", "Рустам Каримов",
         "Нигина Шарипова", "Далер Иброҳимов", "Зарина Ахмедова", "Сорбон Юсупов"]


def appeal_body(rng, key, guest_email=None):
    lang, kind, category, subject, text = rng.choice(TEXTS)
    region, district = rng.choice(PLACES)
    streets = STREETS_TG if lang == "tg" else STREETS_RU
    text = text.format(street=rng.choice(streets), n=rng.randint(1, 120))
    body = {
        "kind": kind,
        "subject": subject,
        "text": f"{text}\n\n{MARKER[lang]}: {key}",
        "category": category,
        "region": region,
        "language": lang,
    }
    if district:
        body["district"] = district
    if region == "tj-dushanbe" and rng.random() < 0.5:
        body["location"] = {"lat": round(38.55 + rng.random() * 0.05, 5),
                            "lon": round(68.74 + rng.random() * 0.06, 5)}
    if guest_email:
        body["name"] = rng.choice(NAMES)
        body["email"] = guest_email
        body["postal_address"] = f"ш. Душанбе, к. {rng.choice(STREETS_TG)} {rng.randint(1, 120)}"
    return body


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = 0
        self.rejected = 0
        self.gave_up = 0
        self.retried = 0          # requests that needed more than one attempt
        self.attempts = 0
        self.conn_errors = 0
        self.timeouts = 0
        self.status = {}          # unacknowledging HTTP statuses seen, e.g. {"500": 3}
        self.longest_wait = 0.0   # longest time from first attempt to acknowledgement
        self.issued = 0

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def saw_status(self, code):
        with self.lock:
            self.status[str(code)] = self.status.get(str(code), 0) + 1


class Client:
    """One keep-alive connection; reconnects after any failure."""

    def __init__(self, base, timeout):
        url = urllib.parse.urlsplit(base)
        self.host, self.port, self.timeout = url.hostname, url.port or 80, timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        hdrs = {"content-type": "application/json", "accept-language": "en"}
        hdrs.update(headers or {})
        try:
            self.conn.request(method, path, body=data, headers=hdrs)
            resp = self.conn.getresponse()
            raw = resp.read()
        except BaseException:
            self.close()
            raise
        if resp.getheader("connection", "").lower() == "close":
            self.close()
        return resp.status, raw

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Citizen:
    def __init__(self, email, password):
        self.email, self.password = email, password
        self.token = None
        self.user_id = None
        self.lock = threading.Lock()

    def login(self, client, stats, deadline, stale=None):
        """Signs in (retrying through outages) unless another thread already replaced the
        token `stale`; returns the token."""
        with self.lock:
            if stale is not None and self.token != stale:
                return self.token
            delay = 0.2
            while True:
                try:
                    status, raw = client.request(
                        "POST", "/api/v1/auth/login", {"email": self.email, "password": self.password})
                    if status == 200:
                        self.token = json.loads(raw)["access_token"]
                        status, raw = client.request(
                            "GET", "/api/v1/me", headers={"authorization": f"Bearer {self.token}"})
                        if status == 200:
                            self.user_id = json.loads(raw)["id"]
                            return self.token
                    if status in (400, 403, 404, 422):
                        raise SystemExit(f"login of {self.email}: {status} {raw[:300]!r}")
                except (OSError, http.client.HTTPException):
                    stats.add(conn_errors=1)
                if time.monotonic() > deadline:
                    raise SystemExit(f"login of {self.email}: gave up")
                time.sleep(delay)
                delay = min(delay * 2, 2.0)


def file_one(client, citizen, body, key, stats, give_up_secs, guest):
    """Sends one appeal until it is acknowledged; returns (status, parsed body, attempts)."""
    started = time.monotonic()
    attempts = 0
    delay = 0.1
    while True:
        attempts += 1
        stats.add(attempts=1)
        headers = {"idempotency-key": key}
        token = None if guest else citizen.token
        if token:
            headers["authorization"] = f"Bearer {token}"
        path = "/api/v1/public/appeals" if guest else "/api/v1/appeals"
        try:
            status, raw = client.request("POST", path, body, headers)
        except TimeoutError:
            stats.add(timeouts=1)
            status, raw = None, b""
        except (OSError, http.client.HTTPException):
            stats.add(conn_errors=1)
            status, raw = None, b""
        if status == 201:
            stats.add(retried=1 if attempts > 1 else 0)
            with stats.lock:
                stats.longest_wait = max(stats.longest_wait, time.monotonic() - started)
            return 201, json.loads(raw), attempts
        if status is not None:
            stats.saw_status(status)
        if status == 401 and not guest:
            citizen.login(client, stats, time.monotonic() + give_up_secs, stale=token)
        elif status is not None and status not in (408, 429) and status < 500:
            return status, raw.decode(errors="replace"), attempts
        if time.monotonic() - started > give_up_secs:
            return None, "gave up", attempts
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--accounts", required=True, help="JSON list of {email, password}")
    ap.add_argument("--acks", required=True, help="JSON lines of acknowledged appeals (appended)")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--duration", type=float, default=0, help="seconds of issuing new appeals")
    ap.add_argument("--count", type=int, default=0, help="stop after this many appeals")
    ap.add_argument("--stop-file", default=None)
    ap.add_argument("--guest-share", type=float, default=0.0)
    ap.add_argument("--guest-domain", default="guests.faults.test")
    ap.add_argument("--timeout", type=float, default=35.0, help="seconds to wait for one answer")
    ap.add_argument("--give-up-secs", type=float, default=600.0)
    ap.add_argument("--progress-secs", type=float, default=15.0)
    ap.add_argument("--summary", default=None)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()

    with open(args.accounts, encoding="utf-8") as f:
        citizens = [Citizen(a["email"], a["password"]) for a in json.load(f)]
    stats = Stats()
    started = time.monotonic()
    first = Client(args.base, args.timeout)
    for citizen in citizens:
        citizen.login(first, stats, started + args.give_up_secs)
    first.close()

    acks = open(args.acks, "a", encoding="utf-8")
    write_lock = threading.Lock()
    issue_lock = threading.Lock()
    failures = []

    def may_issue():
        with issue_lock:
            if args.duration and time.monotonic() - started >= args.duration:
                return False
            if args.count and stats.issued >= args.count:
                return False
            if args.stop_file and os.path.exists(args.stop_file):
                return False
            stats.issued += 1
            return True

    def worker(index):
        rng = random.Random(None if args.seed is None else args.seed * 1000 + index)
        client = Client(args.base, args.timeout)
        n = 0
        while may_issue():
            n += 1
            citizen = citizens[(index + n) % len(citizens)]
            guest = rng.random() < args.guest_share
            key = str(uuid.uuid4())
            email = f"g-{key[:8]}@{args.guest_domain}" if guest else None
            body = appeal_body(rng, key, email)
            sent_at = time.time()
            status, answer, attempts = file_one(
                client, citizen, body, key, stats, args.give_up_secs, guest)
            if status == 201:
                appeal = answer["appeal"] if guest else answer
                line = {
                    "key": key,
                    "appeal_id": appeal["id"],
                    "tracking_number": appeal["tracking_number"],
                    "user_id": None if guest else citizen.user_id,
                    "guest": guest,
                    "attempts": attempts,
                    "sent_at": sent_at,
                    "acked_at": time.time(),
                }
                with write_lock:
                    acks.write(json.dumps(line) + "\n")
                    acks.flush()
                stats.add(acked=1)
            elif status is None:
                stats.add(gave_up=1)
                failures.append({"key": key, "why": answer})
            else:
                stats.add(rejected=1)
                failures.append({"key": key, "status": status, "why": answer[:500]})
                print(f"filer: key {key} refused with {status}: {answer[:300]}", file=sys.stderr)
        client.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.threads)]
    for t in threads:
        t.start()
    last = time.monotonic()
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
        if time.monotonic() - last >= args.progress_secs:
            last = time.monotonic()
            print(f"filer: {time.monotonic() - started:.0f} s, acknowledged {stats.acked}, "
                  f"retried {stats.retried}, connection errors {stats.conn_errors}, "
                  f"timeouts {stats.timeouts}, statuses {stats.status}", file=sys.stderr, flush=True)
    acks.close()
    summary = {
        "acknowledged": stats.acked,
        "rejected": stats.rejected,
        "gave_up": stats.gave_up,
        "retried": stats.retried,
        "attempts": stats.attempts,
        "connection_errors": stats.conn_errors,
        "timeouts": stats.timeouts,
        "unacknowledging_statuses": stats.status,
        "longest_wait_s": round(stats.longest_wait, 2),
        "elapsed_s": round(time.monotonic() - started, 1),
        "failures": failures[:20],
    }
    text = json.dumps(summary, ensure_ascii=False)
    print(text, flush=True)
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
