# Sample app version 3: builds and starts, but /api/health answers 500, so a deploy must refuse it.
FROM tme-portal-server:sandbox-1
ENV NODE_ENV=production APP_VERSION=sandbox-3 SAMPLE_HEALTH=fail
