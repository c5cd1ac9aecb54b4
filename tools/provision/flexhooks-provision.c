/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flexhooks-provision - create or update the Twilio objects flexhooks needs
 * (docs/design/taskrouter-events.md#provisioning): the no-agent redirect queues
 * and workflow, the callback workflow, the outbound demo, and the workspace's
 * event callback; with --workspace NAME in (or as) a workspace of that
 * name, e.g. the Outbound Calling Example's "Call Router", without Flex.  The
 * plan and progress go to stderr, the lines for the config file to stdout.
 * Exit: 0 done, 1 Twilio or network error, 2 usage or configuration error, 3
 * refused.  With --check it only reads, and prints one line per problem on
 * stdout: exit 0 when there is none, 1 when there is any.
 *
 * The work is in tools/provision/provision.c; this is the command line, the
 * configuration and the REST client around it.
 */
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "lib/config.h"
#include "lib/log.h"
#include "tools/provision/provision.h"
#include "lib/rest.h"

int
main(int argc, char *argv[])
{
	struct fh_prov_opts opts;
	struct fh_config    cfg;
	struct fh_log	    log;
	struct fh_prov_io   io;
	struct fh_prov	    prov;
	struct fh_rest	   *rest = NULL;
	char		    msg[512];
	enum fh_err	    err;
	unsigned	    problems = 0;
	int		    have_cfg = 0, code;

	err = fh_prov_parse_args(argc, argv, &opts, msg, sizeof(msg));
	if (err != FH_OK) {
		(void)fprintf(stderr, "flexhooks-provision: %s\n%s", msg,
		    fh_prov_usage());
		return fh_prov_exit_code(err);
	}
	if (opts.help) {
		(void)fputs(fh_prov_usage(), stdout);
		return 0;
	}
	/* the loader takes its file from FLEXHOOKS_CONFIG */
	if (opts.config != NULL &&
	    setenv("FLEXHOOKS_CONFIG", opts.config, 1) != 0) {
		(void)fprintf(stderr,
		    "flexhooks-provision: cannot use "
		    "--config '%s'\n",
		    opts.config);
		return 2;
	}
	err = fh_config_load(&cfg, NULL, msg, sizeof(msg));
	if (err != FH_OK) {
		(void)fprintf(stderr, "flexhooks-provision: %s\n", msg);
		return err == FH_ENOMEM ? 1 : 2;
	}
	have_cfg = 1;
	fh_log_init(&log, "flexhooks-provision", cfg.log_level);
	err = fh_rest_new(&rest, &cfg, &log);
	if (err != FH_OK) {
		(void)fprintf(stderr,
		    "flexhooks-provision: cannot set up the "
		    "REST client: %s\n",
		    fh_strerror(err));
		goto out;
	}
	fh_prov_rest_io(&io, rest);
	fh_prov_init(&prov, &cfg, &opts, &io, stderr, stdout);
	if (opts.check)
		err = fh_prov_check(&prov);
	else
		err = fh_prov_run(&prov);
	problems = prov.problems;
	fh_prov_release(&prov);
out:
	code = fh_prov_exit_code(err);
	if (code == 0 && problems > 0)
		code = 1; /* --check found something */
	fh_rest_free(rest);
	if (have_cfg)
		fh_config_release(&cfg);
	curl_global_cleanup();
	return code;
}
