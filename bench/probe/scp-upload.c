/*
 * The raw libssh2 upload the transfer bench compares against: one blocking session, the same cipher
 * preference as tmeops, libssh2_scp_send64 and 256 KiB writes, no verification. It separates the
 * library's own speed from what tmeops adds (verification, progress, its non-blocking loop).
 *
 *   scp-upload HOST PORT USER IDENTITY KNOWN_HOSTS LOCAL REMOTE [CIPHERS]
 *
 * Host keys are checked against KNOWN_HOSTS, as tmeops does. Built by bench/transfer against the
 * libssh2 tmeops links (scripts/build-libssh2).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libssh2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void fail(LIBSSH2_SESSION *session, const char *what) {
    char *message = NULL;
    if (session) libssh2_session_last_error(session, &message, NULL, 0);
    fprintf(stderr, "scp-upload: %s: %s\n", what, message ? message : "failed");
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: scp-upload HOST PORT USER IDENTITY KNOWN_HOSTS LOCAL REMOTE [CIPHERS]\n");
        return 2;
    }
    const char *host = argv[1], *user = argv[3], *identity = argv[4], *known = argv[5], *local = argv[6], *remote = argv[7];
    const char *ciphers = argc > 8 ? argv[8] : "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes128-ctr";
    if (libssh2_init(0) != 0) fail(NULL, "libssh2_init");

    int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) fail(NULL, "HOST must be an IPv4 address");
    if (connect(sock, (struct sockaddr *)&address, sizeof address) != 0) fail(NULL, "connect");
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    LIBSSH2_SESSION *session = libssh2_session_init();
    libssh2_session_method_pref(session, LIBSSH2_METHOD_CRYPT_CS, ciphers);
    libssh2_session_method_pref(session, LIBSSH2_METHOD_CRYPT_SC, ciphers);
    libssh2_session_set_blocking(session, 1);
    if (libssh2_session_handshake(session, sock) != 0) fail(session, "handshake");

    size_t key_length;
    int key_type;
    const char *key = libssh2_session_hostkey(session, &key_length, &key_type);
    LIBSSH2_KNOWNHOSTS *hosts = libssh2_knownhost_init(session);
    if (libssh2_knownhost_readfile(hosts, known, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) fail(session, "reading known_hosts");
    int type = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW;
    if (libssh2_knownhost_checkp(hosts, host, atoi(argv[2]), key, key_length, type, NULL) != LIBSSH2_KNOWNHOST_CHECK_MATCH)
        fail(session, "the host key does not match known_hosts");
    libssh2_knownhost_free(hosts);
    (void)key_type;

    if (libssh2_userauth_publickey_fromfile_ex(session, user, (unsigned)strlen(user), NULL, identity, NULL) != 0) fail(session, "authentication");

    int fd = open(local, O_RDONLY | O_CLOEXEC);
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0) fail(NULL, "opening the local file");
    LIBSSH2_CHANNEL *channel = libssh2_scp_send64(session, remote, 0600, (libssh2_int64_t)info.st_size, 0, 0);
    if (!channel) fail(session, "scp_send");
    static char buffer[256 << 10];
    ssize_t count;
    while ((count = read(fd, buffer, sizeof buffer)) > 0) {
        char *at = buffer;
        while (count > 0) {
            ssize_t written = libssh2_channel_write(channel, at, (size_t)count);
            if (written < 0) fail(session, "write");
            at += written;
            count -= written;
        }
    }
    if (count < 0) fail(NULL, "reading the local file");
    libssh2_channel_send_eof(channel);
    libssh2_channel_wait_eof(channel);
    libssh2_channel_wait_closed(channel);
    libssh2_channel_free(channel);
    printf("%s\n", libssh2_session_methods(session, LIBSSH2_METHOD_CRYPT_CS));
    libssh2_session_disconnect(session, "done");
    libssh2_session_free(session);
    close(fd);
    close(sock);
    libssh2_exit();
    return 0;
}
