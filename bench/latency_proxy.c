/* A TCP proxy that adds a fixed one-way delay to every byte, both ways: the network
 * between an application server and its database, on one machine.
 *
 * The kernel here has no netem (tc qdisc ... netem), so bench/claims_buckets.py
 * --latency-ms starts this between the claimers and PgBouncer. Each connection gets
 * two directions; each direction a reader thread (stamps every chunk with the time it
 * arrived) and a writer thread (sends the chunk at arrival + delay, in order), so a
 * chunk is delayed by exactly the delay whatever else is in flight. Threads sleep in
 * clock_nanosleep: microsecond precision, next to no CPU (a Python proxy would take a
 * good share of 2 cores from the processes being measured).
 *
 *   gcc -O2 -pthread -o latency_proxy latency_proxy.c
 *   ./latency_proxy LISTEN_PORT UPSTREAM_PORT DELAY_MICROSECONDS   (127.0.0.1 both)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct chunk {
    struct chunk *next;
    struct timespec due;
    size_t len;
    char data[];
} chunk;

typedef struct {
    int from, to;
    long delay_us;
    pthread_mutex_t lock;
    pthread_cond_t ready;
    chunk *head, *tail;
    int closed;
} direction;

static void add_us(struct timespec *t, long us) {
    t->tv_nsec += (us % 1000000) * 1000;
    t->tv_sec += us / 1000000 + t->tv_nsec / 1000000000;
    t->tv_nsec %= 1000000000;
}

static void *reader(void *arg) {
    direction *d = arg;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(d->from, buf, sizeof buf, 0);
        if (n <= 0) break;
        chunk *c = malloc(sizeof(chunk) + (size_t)n);
        if (!c) break;
        clock_gettime(CLOCK_MONOTONIC, &c->due);
        add_us(&c->due, d->delay_us);
        c->len = (size_t)n;
        c->next = NULL;
        memcpy(c->data, buf, (size_t)n);
        pthread_mutex_lock(&d->lock);
        if (d->tail) d->tail->next = c; else d->head = c;
        d->tail = c;
        pthread_cond_signal(&d->ready);
        pthread_mutex_unlock(&d->lock);
    }
    pthread_mutex_lock(&d->lock);
    d->closed = 1;
    pthread_cond_signal(&d->ready);
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static void *writer(void *arg) {
    direction *d = arg;
    for (;;) {
        pthread_mutex_lock(&d->lock);
        while (!d->head && !d->closed) pthread_cond_wait(&d->ready, &d->lock);
        chunk *c = d->head;
        if (c) {
            d->head = c->next;
            if (!d->head) d->tail = NULL;
        }
        pthread_mutex_unlock(&d->lock);
        if (!c) break; /* closed and drained */
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &c->due, NULL) == EINTR) {}
        size_t sent = 0;
        while (sent < c->len) {
            ssize_t n = send(d->to, c->data + sent, c->len - sent, MSG_NOSIGNAL);
            if (n <= 0) { free(c); goto done; }
            sent += (size_t)n;
        }
        free(c);
    }
done:
    shutdown(d->to, SHUT_WR);
    return NULL;
}

typedef struct { int client; int upstream_port; long delay_us; } session;

static void nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void *serve(void *arg) {
    session *s = arg;
    int up = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(s->upstream_port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (up < 0 || connect(up, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(s->client);
        if (up >= 0) close(up);
        free(s);
        return NULL;
    }
    nodelay(up);
    nodelay(s->client);
    direction ways[2] = {
        {.from = s->client, .to = up, .delay_us = s->delay_us},
        {.from = up, .to = s->client, .delay_us = s->delay_us},
    };
    pthread_t threads[4];
    for (int i = 0; i < 2; i++) {
        pthread_mutex_init(&ways[i].lock, NULL);
        pthread_cond_init(&ways[i].ready, NULL);
        pthread_create(&threads[2 * i], NULL, reader, &ways[i]);
        pthread_create(&threads[2 * i + 1], NULL, writer, &ways[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
    close(s->client);
    close(up);
    free(s);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s LISTEN_PORT UPSTREAM_PORT DELAY_MICROSECONDS\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int listen_port = atoi(argv[1]), upstream_port = atoi(argv[2]);
    long delay_us = atol(argv[3]);
    int server = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(listen_port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(server, 512) < 0) {
        perror("latency_proxy: bind/listen");
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    for (;;) {
        int client = accept(server, NULL, NULL);
        if (client < 0) continue;
        session *s = malloc(sizeof *s);
        s->client = client;
        s->upstream_port = upstream_port;
        s->delay_us = delay_us;
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        pthread_create(&t, &attr, serve, s);
        pthread_attr_destroy(&attr);
    }
}
