/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dedupe.c - the shared table of webhook deliveries (dedupe.h).
 *
 * The table is small (FH_DEDUPE_SLOTS entries of 88 bytes) and each call
 * scans it whole under the mutex: a few microseconds, next to the REST
 * call it saves.  Writes put the state last, so that a process killed in
 * the middle of one leaves at worst a free slot or a stale entry.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "lib/clock.h"
#include "lib/dedupe.h"

enum slot_state { SLOT_FREE = 0, SLOT_PENDING, SLOT_DONE };

struct slot {
	unsigned char key[FH_DEDUPE_KEY_LEN];
	int64_t	      time;  /* ms, fh_now_ms(): last written */
	pid_t	      pid;   /* the pending entry's process */
	int	      state; /* enum slot_state */
	char	      sid[FH_DEDUPE_SID_MAX];
};

struct fh_dedupe {
	pthread_mutex_t lock; /* process-shared, robust */
	size_t		maplen;
	size_t		nslots;
	int64_t		ttl_ms;
	struct slot	slots[];
};

enum fh_err
fh_dedupe_new(struct fh_dedupe **out, size_t nslots, int64_t ttl_ms)
{
	pthread_mutexattr_t attr;
	struct fh_dedupe   *d;
	size_t		    len;
	int		    rc;

	*out = NULL;
	if (nslots == 0)
		nslots = FH_DEDUPE_SLOTS;
	if (ttl_ms <= 0)
		ttl_ms = FH_DEDUPE_TTL_MS;
	len = sizeof(*d) + nslots * sizeof(struct slot);
	d = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (d == MAP_FAILED)
		return FH_ENOMEM;
	/* the mapping is zeroed: every slot is SLOT_FREE */
	d->maplen = len;
	d->nslots = nslots;
	d->ttl_ms = ttl_ms;
	rc = pthread_mutexattr_init(&attr);
	if (rc == 0) {
		rc =
		    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
		if (rc == 0)
			rc = pthread_mutexattr_setrobust(
			    &attr, PTHREAD_MUTEX_ROBUST);
		if (rc == 0)
			rc = pthread_mutex_init(&d->lock, &attr);
		pthread_mutexattr_destroy(&attr);
	}
	if (rc != 0) {
		munmap(d, len);
		return FH_ENOMEM;
	}
	*out = d;
	return FH_OK;
}

void
fh_dedupe_free(struct fh_dedupe *d)
{
	if (d != NULL)
		munmap(d, d->maplen);
}

enum fh_err
fh_dedupe_key(
    const char *route, const char *token, unsigned char key[FH_DEDUPE_KEY_LEN])
{
	EVP_MD_CTX  *md;
	unsigned int n = 0;
	int	     ok;

	md = EVP_MD_CTX_new();
	if (md == NULL)
		return FH_EINTERNAL;
	/* the NUL keeps ("/a", "bc") apart from ("/ab", "c") */
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, route, strlen(route) + 1) == 1 &&
	    EVP_DigestUpdate(md, token, strlen(token)) == 1 &&
	    EVP_DigestFinal_ex(md, key, &n) == 1 && n == FH_DEDUPE_KEY_LEN;
	EVP_MD_CTX_free(md);
	return ok ? FH_OK : FH_EINTERNAL;
}

/* Take the mutex; a dead owner's is made consistent again (its slot
 * write was ordered so that the table stays usable).  0 on success. */
static int
lock(struct fh_dedupe *d)
{
	int rc;

	rc = pthread_mutex_lock(&d->lock);
	if (rc == EOWNERDEAD)
		rc = pthread_mutex_consistent(&d->lock);
	return rc;
}

static void
unlock(struct fh_dedupe *d)
{
	(void)pthread_mutex_unlock(&d->lock);
}

static int
live(const struct fh_dedupe *d, const struct slot *s, int64_t now)
{
	return s->state != SLOT_FREE && now - s->time < d->ttl_ms;
}

/* A pending entry nobody will finish: ours (this process serves one
 * request at a time, so it is a leftover), its process gone, or older
 * than any request's deadline. */
static int
abandoned(const struct slot *s, int64_t now)
{
	if (s->state != SLOT_PENDING)
		return 0;
	if (s->pid == getpid() || now - s->time >= FH_DEDUPE_PENDING_MS)
		return 1;
	return kill(s->pid, 0) != 0 && errno == ESRCH;
}

/* The slot of key (live or not), or NULL. */
static struct slot *
find(struct fh_dedupe *d, const unsigned char *key)
{
	size_t i;

	for (i = 0; i < d->nslots; i++)
		if (d->slots[i].state != SLOT_FREE &&
		    memcmp(d->slots[i].key, key, FH_DEDUPE_KEY_LEN) == 0)
			return &d->slots[i];
	return NULL;
}

/* A slot for a new key: a free or expired one, else the oldest. */
static struct slot *
pick(struct fh_dedupe *d, int64_t now)
{
	struct slot *s, *oldest = &d->slots[0];
	size_t	     i;

	for (i = 0; i < d->nslots; i++) {
		s = &d->slots[i];
		if (!live(d, s, now))
			return s;
		if (s->time < oldest->time)
			oldest = s;
	}
	return oldest;
}

/* Write key's entry into s; the state goes last. */
static void
put(struct slot *s, const unsigned char *key, int state, const char *sid,
    int64_t now)
{
	s->state = SLOT_FREE;
	memcpy(s->key, key, FH_DEDUPE_KEY_LEN);
	s->time = now;
	s->pid = getpid();
	memset(s->sid, 0, sizeof(s->sid));
	if (sid != NULL)
		memcpy(s->sid, sid, strlen(sid));
	s->state = state;
}

enum fh_err
fh_dedupe_begin(struct fh_dedupe *d, const unsigned char key[FH_DEDUPE_KEY_LEN],
    int64_t now_ms, enum fh_dedupe_state *state, char *sid, size_t sidlen)
{
	struct slot *s;

	*state = FH_DEDUPE_NEW;
	if (sidlen < FH_DEDUPE_SID_MAX)
		return FH_EINPUT;
	sid[0] = '\0';
	if (lock(d) != 0)
		return FH_EINTERNAL;
	s = find(d, key);
	if (s != NULL && live(d, s, now_ms) && s->state == SLOT_DONE) {
		memcpy(sid, s->sid, strlen(s->sid) + 1);
		*state = FH_DEDUPE_DONE;
	} else if (s != NULL && live(d, s, now_ms) &&
	    s->state == SLOT_PENDING && !abandoned(s, now_ms))
		*state = FH_DEDUPE_BUSY;
	else
		put(s != NULL ? s : pick(d, now_ms), key, SLOT_PENDING, NULL,
		    now_ms);
	unlock(d);
	return FH_OK;
}

enum fh_err
fh_dedupe_done(struct fh_dedupe *d, const unsigned char key[FH_DEDUPE_KEY_LEN],
    const char *sid, int64_t now_ms)
{
	struct slot *s;

	if (strlen(sid) >= FH_DEDUPE_SID_MAX)
		return FH_EINPUT;
	if (lock(d) != 0)
		return FH_EINTERNAL;
	s = find(d, key);
	put(s != NULL ? s : pick(d, now_ms), key, SLOT_DONE, sid, now_ms);
	unlock(d);
	return FH_OK;
}

void
fh_dedupe_abort(struct fh_dedupe *d, const unsigned char key[FH_DEDUPE_KEY_LEN])
{
	struct slot *s;

	if (lock(d) != 0)
		return;
	s = find(d, key);
	if (s != NULL && s->state == SLOT_PENDING && s->pid == getpid())
		s->state = SLOT_FREE;
	unlock(d);
}

enum fh_err
fh_dedupe_hold(struct fh_dedupe *d)
{
	return lock(d) == 0 ? FH_OK : FH_EINTERNAL;
}

size_t
fh_dedupe_count(struct fh_dedupe *d, int64_t now_ms)
{
	size_t i, n = 0;

	if (lock(d) != 0)
		return 0;
	for (i = 0; i < d->nslots; i++)
		n += live(d, &d->slots[i], now_ms);
	unlock(d);
	return n;
}
