# Sample app version 4: passes its health check, then dies 4 s after it starts (as a leak would), so
# only a rollout that watches each new task for a while (Swarm's update monitor) catches it.
FROM tme-portal-server:sandbox-1
ENV NODE_ENV=production APP_VERSION=sandbox-4 SAMPLE_CRASH_AFTER=4
