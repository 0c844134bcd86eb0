/*
 * agent.h: the reference agent, "svidca agent run" and
 * "svidca agent healthcheck".  It attests its node, renews its own SVID,
 * syncs its authorized entries and keeps their SVIDs as files.
 */
#ifndef SVIDCA_AGENT_H
#define SVIDCA_AGENT_H

/* "agent run ..." or "agent healthcheck ..."; argv[0] is the word. */
int		 agent_main(int argc, char **argv);

#endif
