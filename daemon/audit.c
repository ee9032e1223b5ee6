/* SPDX-License-Identifier: MIT */
/* The audit trail writer: an in-memory queue and one thread that stores
 * it in batches. */
#include "audit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"

/* Events queued before a request thread starts dropping them. At a few
 * hundred bytes each, this bounds the queue to tens of MiB. */
#define AUDIT_QUEUE_MAX		65536
/* The writer stores a batch at least this often, or sooner when this
 * many events are waiting. */
#define AUDIT_FLUSH_MS		1000
#define AUDIT_BATCH		512
/* Seconds between two runs of the retention limits. */
#define AUDIT_PRUNE_SECONDS	60

/* A queued event: the struct and copies of its strings, in one block. */
struct audit_item {
	struct audit_item	*next;
	struct store_event	 ev;
};

struct audit {
	struct store	*store;		/* the writer's own connection */
	uint64_t	 max_events;
	unsigned	 max_days;
	pthread_t	 thread;
	int		 running;

	pthread_mutex_t	 lock;		/* guards the fields below */
	pthread_cond_t	 wake;
	struct audit_item *head, **tail;
	size_t		 queued;
	uint64_t	 dropped;
	int		 stopping;
};

/* Copies the string at *field to the block at *cursor and points the
 * field at the copy. */
static void
copy_field(const char **field, char **cursor)
{
	size_t len;

	if (*field == NULL)
		return;
	len = strlen(*field) + 1;
	memcpy(*cursor, *field, len);
	*field = *cursor;
	*cursor += len;
}

static struct audit_item *
item_create(const struct store_event *ev)
{
	const char *const fields[] = {
		ev->kind, ev->client, ev->url, ev->expected, ev->observed,
		ev->identity, ev->content_type, ev->redirects, ev->detail,
	};
	struct audit_item *item;
	size_t i, size = sizeof(*item);
	char *cursor;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i] != NULL)
			size += strlen(fields[i]) + 1;
	item = malloc(size);
	if (item == NULL)
		return NULL;
	item->next = NULL;
	item->ev = *ev;
	if (item->ev.at == 0)
		item->ev.at = (int64_t)time(NULL);
	cursor = (char *)(item + 1);
	copy_field(&item->ev.kind, &cursor);
	copy_field(&item->ev.client, &cursor);
	copy_field(&item->ev.url, &cursor);
	copy_field(&item->ev.expected, &cursor);
	copy_field(&item->ev.observed, &cursor);
	copy_field(&item->ev.identity, &cursor);
	copy_field(&item->ev.content_type, &cursor);
	copy_field(&item->ev.redirects, &cursor);
	copy_field(&item->ev.detail, &cursor);
	return item;
}

void
audit_record(struct audit *audit, const struct store_event *ev)
{
	struct audit_item *item;

	pthread_mutex_lock(&audit->lock);
	if (audit->queued >= AUDIT_QUEUE_MAX || audit->stopping ||
	    (item = item_create(ev)) == NULL) {
		audit->dropped++;
		pthread_mutex_unlock(&audit->lock);
		metrics_count_audit_dropped();
		return;
	}
	*audit->tail = item;
	audit->tail = &item->next;
	if (++audit->queued == AUDIT_BATCH)
		pthread_cond_signal(&audit->wake);
	pthread_mutex_unlock(&audit->lock);
}

/* Stores a list of items in batches and frees them. */
static void
audit_write(struct audit *audit, struct audit_item *list)
{
	const struct store_event *batch[AUDIT_BATCH];
	struct audit_item *item, *next, *first;
	size_t n;

	while (list != NULL) {
		first = list;
		for (n = 0; list != NULL && n < AUDIT_BATCH; list = list->next)
			batch[n++] = &list->ev;
		if (store_event_add_batch(audit->store, batch, n) != 0)
			log_error("audit: %zu events lost: the database write failed", n);
		for (item = first; item != list; item = next) {
			next = item->next;
			free(item);
		}
	}
}

static void
audit_prune(struct audit *audit)
{
	int64_t before = 0, removed;

	if (audit->max_events == 0 && audit->max_days == 0)
		return;
	if (audit->max_days != 0)
		before = (int64_t)time(NULL) - (int64_t)audit->max_days * 86400;
	removed = store_event_prune(audit->store, audit->max_events, before);
	if (removed > 0)
		log_info("audit: removed %lld events past the retention limits "
		    "(max_events %llu, max_days %u)", (long long)removed,
		    (unsigned long long)audit->max_events, audit->max_days);
}

static void *
audit_main(void *arg)
{
	struct audit *audit = arg;
	struct audit_item *list;
	struct timespec deadline;
	time_t last_prune = 0;
	uint64_t dropped;
	int stopping;

	for (;;) {
		pthread_mutex_lock(&audit->lock);
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += AUDIT_FLUSH_MS % 1000 * 1000000L;
		deadline.tv_sec += AUDIT_FLUSH_MS / 1000 +
		    deadline.tv_nsec / 1000000000L;
		deadline.tv_nsec %= 1000000000L;
		while (!audit->stopping && audit->queued < AUDIT_BATCH)
			if (pthread_cond_timedwait(&audit->wake, &audit->lock,
			    &deadline) == ETIMEDOUT)
				break;
		list = audit->head;
		audit->head = NULL;
		audit->tail = &audit->head;
		audit->queued = 0;
		dropped = audit->dropped;
		audit->dropped = 0;
		stopping = audit->stopping;
		pthread_mutex_unlock(&audit->lock);

		if (dropped > 0)
			log_warning("audit: %llu events dropped: the queue of %d "
			    "events was full", (unsigned long long)dropped,
			    AUDIT_QUEUE_MAX);
		audit_write(audit, list);
		if (time(NULL) - last_prune >= AUDIT_PRUNE_SECONDS) {
			audit_prune(audit);
			last_prune = time(NULL);
		}
		if (stopping)
			return NULL;
	}
}

struct audit *
audit_open(const char *path, uint64_t max_events, unsigned max_days)
{
	struct audit *audit;
	int rc;

	audit = calloc(1, sizeof(*audit));
	if (audit == NULL) {
		log_error("audit: out of memory");
		return NULL;
	}
	audit->max_events = max_events;
	audit->max_days = max_days;
	audit->tail = &audit->head;
	pthread_mutex_init(&audit->lock, NULL);
	pthread_cond_init(&audit->wake, NULL);
	audit->store = store_open(path);
	if (audit->store == NULL)
		goto fail;
	rc = pthread_create(&audit->thread, NULL, audit_main, audit);
	if (rc != 0) {
		log_error("audit: cannot start the writer thread: %s", strerror(rc));
		goto fail;
	}
	audit->running = 1;
	return audit;
fail:
	audit_close(audit);
	return NULL;
}

void
audit_close(struct audit *audit)
{
	if (audit == NULL)
		return;
	if (audit->running) {
		pthread_mutex_lock(&audit->lock);
		audit->stopping = 1;
		pthread_cond_signal(&audit->wake);
		pthread_mutex_unlock(&audit->lock);
		pthread_join(audit->thread, NULL);
	}
	store_close(audit->store);
	pthread_cond_destroy(&audit->wake);
	pthread_mutex_destroy(&audit->lock);
	free(audit);
}
