/*
 * Firmware in the loop: runs the Uno build of twitch_sensor on simavr
 * (ATmega328P at 16 MHz), feeds its ADC from a signal file and bridges its
 * UART to a pseudo-terminal, so the daemon can open it as "serial:PATH".
 *
 *   twitch_simavr FIRMWARE.elf SIGNAL.txt [SECONDS]
 *
 * SIGNAL.txt: one line per sample, "raw_mv env_mv fsr_mv" (integers, the pin
 * voltages in millivolts, AVcc = 5000 mV). Sample k of the firmware reads line
 * k: the harness moves to the next line when the firmware starts the first
 * conversion of A0 (RAW) in a sample, i.e. a conversion of A0 that follows one
 * of another channel (or is the very first), so the mapping does not depend on
 * timing. The firmware converts A0 several times a sample when it oversamples
 * (four times up to 2 kHz); every one of them reads the same line, so the raw
 * channel it sends is exactly four times that line's count. After the last
 * line the last values are held.
 *
 * stdout, line 1: the pty's path. When SECONDS of simulated time have run
 * (default: the signal's length + 1 s) the harness prints "done ..." with the
 * figures on stdout (samples: lines consumed; raw_conversions: conversions of
 * A0 started), stops simulating and keeps the pty open until SIGTERM or
 * SIGINT, so the reader can drain what is buffered.
 *
 * The UART bridge is ours rather than simavr's uart_pty part: that one
 * queues output in a 512-byte FIFO that silently overwrites when its thread
 * falls behind, while here the simulation thread itself writes to the pty,
 * blocking (and so pausing simulated time) when the reader is slow. No byte
 * is ever lost, whatever the speed of the host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "avr_adc.h"
#include "avr_uart.h"
#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_irq.h"

#define AVCC_MV 5000

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

/* ---- signal rows ---- */
static unsigned (*rows)[3];
static size_t n_rows, next_row, rows_used;
static unsigned long long raw_conversions;
static int last_src = -1; /* channel of the previous conversion; -1: none yet */
static avr_irq_t *adc_in[3];

static void load_signal(const char *path) {
	FILE *f = fopen(path, "r");
	if (!f) { perror(path); exit(2); }
	size_t cap = 4096;
	rows = malloc(cap * sizeof *rows);
	unsigned a, b, c;
	while (fscanf(f, "%u %u %u", &a, &b, &c) == 3) {
		if (n_rows == cap) rows = realloc(rows, (cap *= 2) * sizeof *rows);
		rows[n_rows][0] = a; rows[n_rows][1] = b; rows[n_rows][2] = c;
		n_rows++;
	}
	fclose(f);
	if (!n_rows) { fprintf(stderr, "%s: no rows\n", path); exit(2); }
}

/* The firmware started a conversion: at the first A0 of a sample, present the
 * next sample's values. Further conversions of A0 in a row (oversampling) keep
 * the values of the row already presented. */
static void adc_trigger(struct avr_irq_t *irq, uint32_t value, void *param) {
	(void)irq; (void)param;
	union { avr_adc_mux_t mux; uint32_t v; } e = { .v = value };
	int src = e.mux.kind == ADC_MUX_SINGLE ? e.mux.src : -2;
	int first_of_sample = src == 0 && last_src != 0;
	last_src = src;
	if (src != 0) return;
	raw_conversions++;
	if (!first_of_sample) return;
	size_t r = next_row < n_rows ? next_row : n_rows - 1;
	if (next_row < n_rows) next_row++;
	rows_used++;
	for (int c = 0; c < 3; c++) avr_raise_irq(adc_in[c], rows[r][c]);
}

/* ---- UART <-> pty ---- */
static int pty_master;
static uint8_t out_buf[4096];
static size_t out_len;
static int uart_xon = 1;
static unsigned long long bytes_out;

static void uart_out(struct avr_irq_t *irq, uint32_t value, void *param) {
	(void)irq; (void)param;
	out_buf[out_len++] = (uint8_t)value;
	bytes_out++;
	if (out_len == sizeof out_buf) {
		/* cannot happen between two flushes at 500 kbaud; flush anyway */
		ssize_t w = write(pty_master, out_buf, out_len);
		(void)w;
		out_len = 0;
	}
}
static void uart_xon_hook(struct avr_irq_t *irq, uint32_t v, void *p) { (void)irq; (void)v; (void)p; uart_xon = 1; }
static void uart_xoff_hook(struct avr_irq_t *irq, uint32_t v, void *p) { (void)irq; (void)v; (void)p; uart_xon = 0; }

static void flush_out(void) {
	size_t done = 0;
	while (done < out_len && !stop_requested) {
		ssize_t w = write(pty_master, out_buf + done, out_len - done);
		if (w > 0) done += (size_t)w;
		else if (w < 0 && errno != EINTR && errno != EAGAIN) break;
		else usleep(200); /* reader is slow: simulated time waits for it */
	}
	out_len = 0;
}

static double now_s(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: %s FIRMWARE.elf SIGNAL.txt [SECONDS]\n", argv[0]);
		return 2;
	}
	/* simavr prints on stdout ("Loaded ..."): send all of that to stderr and
	 * keep the real stdout for our own two lines. */
	fflush(stdout);
	FILE *out = fdopen(dup(1), "w");
	dup2(2, 1);
	load_signal(argv[2]);
	double seconds = argc > 3 ? atof(argv[3]) : n_rows / 1000.0 + 1.0;

	elf_firmware_t fw;
	memset(&fw, 0, sizeof fw);
	if (elf_read_firmware(argv[1], &fw) != 0) { fprintf(stderr, "cannot read %s\n", argv[1]); return 2; }
	avr_t *avr = avr_make_mcu_by_name("atmega328p");
	if (!avr) { fprintf(stderr, "simavr has no atmega328p\n"); return 2; }
	avr_init(avr);
	fw.frequency = 16000000;
	strcpy(fw.mmcu, "atmega328p");
	avr_load_firmware(avr, &fw);
	avr->frequency = 16000000;
	avr->vcc = avr->avcc = avr->aref = AVCC_MV;

	for (int c = 0; c < 3; c++) adc_in[c] = avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0 + c);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_OUT_TRIGGER), adc_trigger, NULL);

	/* Binary UART: no stdio echo, and no usleep() when the firmware polls the
	 * status register (simavr's default), which would stall the simulation. */
	uint32_t flags = 0;
	avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
	flags &= ~(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
	avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), uart_out, NULL);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON), uart_xon_hook, NULL);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF), uart_xoff_hook, NULL);
	avr_irq_t *uart_in = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);

	int slave;
	char path[128];
	if (openpty(&pty_master, &slave, path, NULL, NULL) < 0) { perror("openpty"); return 2; }
	struct termios tio;
	tcgetattr(slave, &tio);
	cfmakeraw(&tio); /* no echo: our output must not come back as input */
	tcsetattr(slave, TCSANOW, &tio);
	fcntl(pty_master, F_SETFL, fcntl(pty_master, F_GETFL) | O_NONBLOCK);
	/* We keep `slave` open so the pty stays valid before the reader opens it. */
	fprintf(out, "%s\n", path);
	fflush(out);

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);

	const avr_cycle_count_t io_every = 16000; /* poll the pty every simulated ms */
	const avr_cycle_count_t end = (avr_cycle_count_t)(seconds * 16e6);
	avr_cycle_count_t next_io = io_every;
	double t0 = now_s();
	int state = cpu_Running;
	while (!stop_requested && avr->cycle < end) {
		state = avr_run(avr);
		if (state == cpu_Done || state == cpu_Crashed) break;
		if (avr->cycle < next_io) continue;
		next_io += io_every;
		flush_out();
		uint8_t in[16];
		if (uart_xon) {
			ssize_t n = read(pty_master, in, sizeof in);
			for (ssize_t i = 0; i < n; i++) avr_raise_irq(uart_in, in[i]);
		}
	}
	flush_out();
	double wall = now_s() - t0;
	double sim = (double)avr->cycle / 16e6;
	fprintf(out, "done sim_s=%.3f wall_s=%.3f speed=%.3f samples=%zu raw_conversions=%llu bytes=%llu state=%d\n",
	        sim, wall, sim / wall, rows_used, raw_conversions, bytes_out, state);
	fflush(out);
	while (!stop_requested) pause();
	close(slave);
	close(pty_master);
	return state == cpu_Crashed ? 1 : 0;
}
