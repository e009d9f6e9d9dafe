/*
 * A Kafka cluster for the tests: librdkafka's mock cluster (rdkafka_mock.h), N brokers on
 * loopback, in this one process. It speaks the Kafka protocol (produce, fetch, consumer groups,
 * offset commits, ListOffsets by time), which is what kafkajs talks to.
 *
 *   mock-cluster [--brokers N] [TOPIC[:PARTITIONS]]...
 *
 * Creates the topics given (3 partitions unless said; topics a client asks for are auto-created
 * with the mock's defaults), prints the bootstrap servers as one line on stdout, then runs until
 * its stdin closes (the test process died or closed the pipe) or it gets SIGTERM/SIGINT.
 *
 * Commands on stdin, one a line, each answered with a line on stdout once done:
 *   request-errors API_KEY ERROR...   the next requests of that type (any broker) fail with these
 *                                     error codes, one each, in order (answers "ok")
 * Test infrastructure, not product: built on demand by cluster.ts.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop = 0;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

/* One command line (see the top); answers on stdout. */
static void run_command(rd_kafka_mock_cluster_t *cluster, char *line) {
  char *save = NULL;
  char *verb = strtok_r(line, " \t", &save);
  if (verb == NULL) return;
  if (strcmp(verb, "request-errors") == 0) {
    char *api = strtok_r(NULL, " \t", &save);
    rd_kafka_resp_err_t errors[64];
    size_t count = 0;
    for (char *code; count < 64 && (code = strtok_r(NULL, " \t", &save)) != NULL;) errors[count++] = (rd_kafka_resp_err_t)atoi(code);
    if (api == NULL || count == 0) {
      printf("error: request-errors API_KEY ERROR...\n");
    } else {
      rd_kafka_mock_push_request_errors_array(cluster, (int16_t)atoi(api), count, errors);
      printf("ok\n");
    }
  } else {
    printf("error: unknown command %s\n", verb);
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  int brokers = 3;
  int first_topic = 1;
  if (argc > 2 && strcmp(argv[1], "--brokers") == 0) {
    brokers = atoi(argv[2]);
    first_topic = 3;
    if (brokers < 1) {
      fprintf(stderr, "mock-cluster: --brokers wants a positive number\n");
      return 2;
    }
  }

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* Errors only: the mock logs every connection at the default level. */
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "mock-cluster: %s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == NULL) {
    fprintf(stderr, "mock-cluster: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == NULL) {
    fprintf(stderr, "mock-cluster: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }

  for (int i = first_topic; i < argc; i++) {
    char name[512];
    int partitions = 3;
    snprintf(name, sizeof name, "%s", argv[i]);
    char *colon = strrchr(name, ':');
    if (colon != NULL) {
      *colon = '\0';
      partitions = atoi(colon + 1);
    }
    int replicas = brokers < 3 ? brokers : 3;
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name, partitions, replicas);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fprintf(stderr, "mock-cluster: cannot create topic %s: %s\n", name, rd_kafka_err2str(err));
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return 1;
    }
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  fflush(stdout);

  /* Until stdin closes or a signal: poll wakes on both (EINTR for the signal). */
  struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
  char buf[1024];
  size_t held = 0;
  while (!stop) {
    int n = poll(&pfd, 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pfd.revents & POLLIN) {
      ssize_t r = read(STDIN_FILENO, buf + held, sizeof buf - 1 - held);
      if (r <= 0) break;
      held += (size_t)r;
      buf[held] = '\0';
      char *newline;
      while ((newline = strchr(buf, '\n')) != NULL) {
        *newline = '\0';
        run_command(cluster, buf);
        held -= (size_t)(newline + 1 - buf);
        memmove(buf, newline + 1, held + 1);
      }
      if (held == sizeof buf - 1) held = 0; /* a line too long: dropped */
    } else if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
      break;
    }
  }

  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
