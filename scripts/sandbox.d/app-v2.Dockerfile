# Sample app version 2: the first version plus one layer, as a real release adds its build output.
FROM tme-portal-server:sandbox-1
USER root
RUN mkdir -p /app/public && echo '<h1>tme-portal v2</h1>' > /app/public/index.html && head -c 1048576 /dev/urandom > /app/public/bundle.bin
USER app
ENV NODE_ENV=production APP_VERSION=sandbox-2
