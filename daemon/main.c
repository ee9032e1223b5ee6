/* SPDX-License-Identifier: MIT */
/* hashgated: start-up, signal handling and shutdown. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "admin.h"
#include "audit.h"
#include "ca.h"
#include "cache.h"
#include "conf.h"
#include "fetch.h"
#include "log.h"
#include "proxy.h"
#include "store.h"

/* Seconds that clients of aborted fetches get to receive their 503. */
#define SHUTDOWN_GRACE 5

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: hashgated [-c FILE] [-t] [-d]\n"
	    "       hashgated -V | -h\n"
	    "\n"
	    "  -c, --config FILE  read the configuration from FILE (default: embedded defaults)\n"
	    "  -t, --check        check the configuration, print \"configuration OK\" and exit\n"
	    "  -d, --debug        log debug messages\n"
	    "  -V, --version      print the version and exit\n"
	    "  -h, --help         print this help and exit\n");
}

static void
report_to_stderr(void *arg, const char *message)
{
	fprintf(stderr, "hashgated: %s\n", message);
}

/* The running parts that a reload reaches. */
struct daemon_parts {
	const struct conf	*start;		/* as started: fixed keys */
	struct conf		*applied;	/* last configuration applied */
	struct conf		 reloaded;	/* storage for applied after a reload */
	int			 debug;		/* -d overrides log.level */
	struct cache		*cache;
	struct fetcher		*fetcher;
	struct proxy		*proxy;
};

static void
report_to_log(void *arg, const char *message)
{
	log_error("reload: %s", message);
}

static void
report_fixed_key(void *arg, const char *key, int reloadable)
{
	if (!reloadable)
		log_warning("reload: %s changed, but it takes effect only when "
		    "hashgated restarts; the running value stays", key);
}

static void
report_reloaded_key(void *arg, const char *key, int reloadable)
{
	if (reloadable)
		log_info("reload: %s changed", key);
}

/* Reads path again and applies the settings that can change at run time.
 * A file with errors changes nothing. */
static void
reload(struct daemon_parts *d, const char *path)
{
	struct conf next;
	int errors;

	if (path == NULL) {
		log_warning("SIGHUP received, but hashgated runs on its embedded "
		    "defaults (no -c FILE), so there is nothing to reload");
		return;
	}
	log_info("SIGHUP received, reloading %s", path);
	if (conf_defaults(&next) != 0) {
		log_error("reload: out of memory; the running configuration stays");
		conf_free(&next);
		return;
	}
	errors = conf_load(&next, path, report_to_log, NULL);
	if (errors > 0) {
		log_error("reload: %s: %d error%s; the running configuration stays",
		    path, errors, errors == 1 ? "" : "s");
		conf_free(&next);
		return;
	}
	/* The two steps that can fail go first, and the first is undone if
	 * the second fails, so that a reload applies all or nothing. */
	if (proxy_reload(d->proxy, &next) != 0) {
		log_error("reload: the running configuration stays");
		conf_free(&next);
		return;
	}
	if (fetcher_reload(d->fetcher, &next) != 0) {
		log_error("reload: the running configuration stays");
		(void)proxy_reload(d->proxy, d->applied);
		conf_free(&next);
		return;
	}
	cache_set_policy(d->cache, (enum cache_verify)next.storage_verify,
	    next.storage_max_size);

	/* The report below is written at the more verbose of the old and
	 * the new log level, and to the old log target, where the operator
	 * who sent SIGHUP is reading. */
	if (!d->debug && next.log_level > d->applied->log_level)
		log_set_level((enum log_level)next.log_level);
	conf_compare(d->start, &next, report_fixed_key, NULL);
	conf_compare(d->applied, &next, report_reloaded_key, NULL);
	log_info("reload: %s applied", path);
	if (!d->debug)
		log_set_level((enum log_level)next.log_level);
	if (next.log_target == 1)
		log_use_syslog();
	else
		log_use_stderr();
	if (d->applied == &d->reloaded)
		conf_free(&d->reloaded);
	d->reloaded = next;
	d->applied = &d->reloaded;
}

/* Creates the folders above path, like mkdir -p on dirname(path). */
static int
make_parent_dirs(const char *path)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		log_error("path is too long: %s", path);
		return -1;
	}
	p = strrchr(buf, '/');
	if (p == NULL || p == buf)
		return 0;
	*p = '\0';
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		{
			char c = *p;

			*p = '\0';
			if (mkdir(buf, 0750) != 0 && errno != EEXIST) {
				log_errno("cannot create folder %s", buf);
				return -1;
			}
			*p = c;
		}
		if (*p == '\0')
			break;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *conf_path = NULL;
	struct conf conf;
	struct store *store = NULL;
	struct audit *audit = NULL;
	struct cache *cache = NULL;
	struct fetcher *fetcher = NULL;
	struct proxy *proxy = NULL;
	struct admin *admin = NULL;
	struct ca *ca = NULL;
	struct daemon_parts parts;
	sigset_t sigs;
	int ch, check_only = 0, debug = 0, sig, status = EXIT_FAILURE;

	static const struct option long_options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	while ((ch = getopt_long(argc, argv, "c:dhtV", long_options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			debug = 1;
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 't':
			check_only = 1;
			break;
		case 'V':
			printf("hashgated %s\n", PACKAGE_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "hashgated: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	memset(&parts, 0, sizeof(parts));
	if (conf_defaults(&conf) != 0) {
		fprintf(stderr, "hashgated: out of memory\n");
		return EXIT_FAILURE;
	}
	if (conf_path != NULL) {
		int errors = conf_load(&conf, conf_path, report_to_stderr, NULL);

		if (errors > 0) {
			fprintf(stderr, "hashgated: %s: %d error%s, not starting\n",
			    conf_path, errors, errors == 1 ? "" : "s");
			conf_free(&conf);
			return EXIT_FAILURE;
		}
	}
	if (!debug)
		log_set_level((enum log_level)conf.log_level);
	if (conf.log_target == 1 && !check_only)
		log_use_syslog();
	if (check_only) {
		if (conf.upstream_ca_file != NULL &&
		    fetcher_check_ca_file(conf.upstream_ca_file) != 0) {
			conf_free(&conf);
			return EXIT_FAILURE;
		}
		printf("configuration OK\n");
		conf_free(&conf);
		return EXIT_SUCCESS;
	}

	/* Signals are taken synchronously by sigwait in this thread; every
	 * thread created from here on inherits the blocked mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Past a file size limit, a write fails with EFBIG instead. */
	signal(SIGXFSZ, SIG_IGN);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("cannot initialise libcurl");
		goto out;
	}
	if (make_parent_dirs(conf.storage_database) != 0 ||
	    make_parent_dirs(conf.admin_token_file) != 0 ||
	    make_parent_dirs(conf.storage_cache_dir) != 0 ||
	    make_parent_dirs(conf.tls_ca_cert) != 0 ||
	    make_parent_dirs(conf.tls_ca_key) != 0)
		goto out;
	if ((store = store_open(conf.storage_database)) == NULL ||
	    (audit = audit_open(conf.storage_database, conf.audit_max_events,
	    conf.audit_max_days)) == NULL ||
	    (cache = cache_open(conf.storage_cache_dir,
	    (enum cache_verify)conf.storage_verify,
	    conf.storage_max_size)) == NULL ||
	    (ca = ca_open(conf.tls_ca_cert, conf.tls_ca_key,
	    conf.tls_max_certificates)) == NULL ||
	    (fetcher = fetcher_create(&conf, cache, store)) == NULL ||
	    (admin = admin_start(&conf, store, ca, cache, fetcher)) == NULL ||
	    (proxy = proxy_start(&conf, store, audit, cache, fetcher, ca)) == NULL)
		goto out;

	log_info("hashgated %s started proxy=%s admin=%s database=%s cache=%s",
	    PACKAGE_VERSION, conf.proxy_listen.text, conf.admin_listen.text,
	    conf.storage_database, conf.storage_cache_dir);

	parts.start = parts.applied = &conf;
	parts.debug = debug;
	parts.cache = cache;
	parts.fetcher = fetcher;
	parts.proxy = proxy;
	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(&parts, conf_path);
			continue;
		}
		log_info("%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
		break;
	}
	status = EXIT_SUCCESS;

out:
	/* Stop taking requests, end the fetches (which resumes their
	 * waiting connections), then close the listeners. */
	if (proxy != NULL)
		proxy_quiesce(proxy);
	if (fetcher != NULL)
		fetcher_stop(fetcher, SHUTDOWN_GRACE);
	proxy_stop(proxy);
	admin_stop(admin);
	fetcher_free(fetcher);
	audit_close(audit);
	ca_free(ca);
	cache_close(cache);
	store_close(store);
	curl_global_cleanup();
	if (status == EXIT_SUCCESS)
		log_info("hashgated %s stopped", PACKAGE_VERSION);
	else
		log_error("hashgated %s not started", PACKAGE_VERSION);
	if (parts.applied == &parts.reloaded)
		conf_free(&parts.reloaded);
	conf_free(&conf);
	return status;
}
