/* SPDX-License-Identifier: MIT */
/* The audit trail of proxy decisions. Request threads queue events in
 * memory, and one writer thread stores them in batches on a database
 * connection of its own, so that a cache hit never waits for a disk sync.
 * Admin changes do not pass through here: the store records them in the
 * same transaction as the change. */
#ifndef HASHGATE_AUDIT_H
#define HASHGATE_AUDIT_H

#include <stdint.h>

#include "store.h"

struct audit;

/* Opens a second connection to the database at path (which store_open has
 * brought up to date) and starts the writer. The writer keeps at most
 * max_events events and none older than max_days days (0: no limit for
 * either). Returns NULL after logging. */
struct audit *audit_open(const char *path, uint64_t max_events,
    unsigned max_days);

/* Copies ev into the queue. Never blocks on the disk. When the queue is
 * full because the disk cannot keep up, the event is counted as dropped,
 * and the writer logs how many were dropped. */
void audit_record(struct audit *audit, const struct store_event *ev);

/* Writes what is queued, stops the writer and closes its connection. */
void audit_close(struct audit *audit);

#endif
