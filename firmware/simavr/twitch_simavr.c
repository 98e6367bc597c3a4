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
 * timing. The firmware converts A0 and A2 several times a sample when it
 * oversamples (up to 1 kHz A0 eight times and A2 four, up to 2 kHz four and
 * two). A field may list a value for each of them, "mv1,mv2,...,mv8": the
 * k-th conversion of that pin in a sample reads the k-th value, or the last
 * one if there are fewer, so a plain "mv" is read by every conversion and the
 * channel sent is an exact multiple of its count. (simavr converts when the
 * firmware reads ADCL, so each value is presented when its conversion starts,
 * and the firmware must read a result before it starts the next conversion,
 * as board_avr.h does.) After the last line the last values are held.
 *
 * The mark button on D2 (to GND, pulled up) reads released unless
 * TWITCH_SIMAVR_BUTTON lists when its level flips: microseconds of simulated
 * time, comma-separated and rising, e.g. "2000000,2000400,2001000,2150000" is
 * a press at 2 s that bounces for 1 ms and is released at 2.15 s.
 *
 * stdout, line 1: the pty's path. When SECONDS of simulated time have run
 * (default: the signal's length + 1 s) the harness prints "done ..." with the
 * figures on stdout, stops simulating and keeps the pty open until SIGTERM or
 * SIGINT, so the reader can drain what is buffered. The figures:
 *   samples                  lines consumed
 *   button_edges             flips of the button's level played
 *   raw_conversions, fsr_conversions   conversions of A0 and of A2 started
 * and, over the sample periods since the period last changed (so: the last
 * rate's), from one Timer1 compare match to the next:
 *   chains                   sample periods counted
 *   conv_min, conv_max       conversions of A0, A1, A2 started in a period,
 *                            the least and the most, e.g. "8,1,4"
 *   chain_us_max, chain_us_mean   from the compare match to the return of
 *                            the last ADC interrupt before the next match:
 *                            how much of the period the sample's conversion
 *                            chain takes, ISR latencies included
 *
 * The UART bridge is ours rather than simavr's uart_pty part: that one
 * queues output in a 512-byte FIFO that silently overwrites when its thread
 * falls behind, while here the simulation thread itself writes to the pty,
 * blocking (and so pausing simulated time) when the reader is slow. No byte
 * is ever lost, whatever the speed of the host.
 *
 * The simulation starts only once a reader has opened the pty, and 50 ms
 * after: a serial port that flushes its input when it opens (pyserial does)
 * would otherwise throw away whatever the firmware sent first, its boot HELLO
 * and first DATA, if the firmware got there before the reader opened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "avr_adc.h"
#include "avr_ioport.h"
#include "avr_uart.h"
#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_interrupts.h"
#include "sim_irq.h"

#define AVCC_MV 5000

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

/* ---- signal rows ---- */
#define MAX_VALUES 8 /* per pin and sample: the most conversions the firmware takes */
struct row {
	uint16_t mv[3][MAX_VALUES];
	uint8_t n[3]; /* values given for each pin, 1..MAX_VALUES */
};
static struct row *rows;
static size_t n_rows, next_row, rows_used;
static unsigned long long raw_conversions, fsr_conversions;
static int last_src = -1; /* channel of the previous conversion; -1: none yet */
static size_t row_now;    /* the row the current sample reads */
static unsigned conv_in_sample[3]; /* conversions of each pin so far in this sample */
static avr_irq_t *adc_in[3];

/* One line: three fields of 1..MAX_VALUES comma-separated millivolts. */
static int parse_row(char *line, struct row *r) {
	char *save = NULL, *field = strtok_r(line, " \t\r\n", &save);
	for (int c = 0; c < 3; c++, field = strtok_r(NULL, " \t\r\n", &save)) {
		if (!field) return 0;
		r->n[c] = 0;
		for (char *p = field; *p; ) {
			char *end;
			unsigned long v = strtoul(p, &end, 10);
			if (end == p || v > 65535 || r->n[c] == MAX_VALUES || (*end && *end != ',')) return 0;
			r->mv[c][r->n[c]++] = (uint16_t)v;
			p = *end ? end + 1 : end;
		}
		if (!r->n[c]) return 0;
	}
	return field == NULL;
}

static void load_signal(const char *path) {
	FILE *f = fopen(path, "r");
	if (!f) { perror(path); exit(2); }
	size_t cap = 4096;
	rows = malloc(cap * sizeof *rows);
	char line[512];
	while (fgets(line, sizeof line, f)) {
		if (n_rows == cap) rows = realloc(rows, (cap *= 2) * sizeof *rows);
		if (!parse_row(line, &rows[n_rows])) {
			fprintf(stderr, "%s:%zu: want \"raw env fsr\", each mV or mV,mV,...\n", path, n_rows + 1);
			exit(2);
		}
		n_rows++;
	}
	fclose(f);
	if (!n_rows) { fprintf(stderr, "%s: no rows\n", path); exit(2); }
}

/* ---- what a sample's conversion chain does ---- */
#define VECTOR_TIMER1_COMPA 11 /* ATmega328P */
#define VECTOR_ADC 21
static avr_t *the_avr;
static avr_cycle_count_t compare_at, adc_done_at, compare_period;
static int compare_seen;
static unsigned period_conv[3];              /* conversions per pin since the last compare match */
static unsigned conv_min[3], conv_max[3];    /* over the periods counted */
static avr_cycle_count_t chain_max, chain_sum;
static unsigned long long chains;

static void figures_reset(void) {
	chain_max = chain_sum = 0;
	chains = 0;
	for (int c = 0; c < 3; c++) { conv_min[c] = ~0u; conv_max[c] = 0; }
}

/* The period that this compare match ends: its chain ended with the last ADC
 * interrupt that returned before the match. */
static void period_close(void) {
	if (!compare_seen) return;
	avr_cycle_count_t d = adc_done_at > compare_at ? adc_done_at - compare_at : 0;
	if (d > chain_max) chain_max = d;
	chain_sum += d;
	chains++;
	for (int c = 0; c < 3; c++) {
		if (period_conv[c] < conv_min[c]) conv_min[c] = period_conv[c];
		if (period_conv[c] > conv_max[c]) conv_max[c] = period_conv[c];
	}
}
static void timer1_pending(struct avr_irq_t *irq, uint32_t value, void *param) {
	(void)irq; (void)param;
	if (!value) return;
	period_close();
	/* The compare matches of one rate are one period apart (simavr flags them
	 * at an instruction's end: give or take a few cycles): when the period
	 * changes, start the figures over, so they are the last rate's. */
	avr_cycle_count_t period = compare_seen ? the_avr->cycle - compare_at : 0;
	if (period + 16 < compare_period || period > compare_period + 16) {
		compare_period = period;
		figures_reset();
	}
	compare_at = the_avr->cycle;
	compare_seen = 1;
	for (int c = 0; c < 3; c++) period_conv[c] = 0;
}
static void adc_running(struct avr_irq_t *irq, uint32_t value, void *param) {
	(void)irq; (void)param;
	if (!value) adc_done_at = the_avr->cycle; /* RETI */
}

/* The firmware started a conversion: at the first A0 of a sample, move to the
 * next row; present this conversion's value of the pin from the row. */
static void adc_trigger(struct avr_irq_t *irq, uint32_t value, void *param) {
	(void)irq; (void)param;
	union { avr_adc_mux_t mux; uint32_t v; } e = { .v = value };
	int src = e.mux.kind == ADC_MUX_SINGLE ? e.mux.src : -2;
	int first_of_sample = src == 0 && last_src != 0;
	last_src = src;
	if (src < 0 || src > 2) return;
	period_conv[src]++;
	if (src == 2) fsr_conversions++;
	if (src == 0) raw_conversions++;
	if (first_of_sample) {
		row_now = next_row < n_rows ? next_row : n_rows - 1;
		if (next_row < n_rows) next_row++;
		rows_used++;
		for (int c = 0; c < 3; c++) conv_in_sample[c] = 0;
	}
	const struct row *r = &rows[row_now];
	unsigned k = conv_in_sample[src]++;
	avr_raise_irq(adc_in[src], r->mv[src][k < r->n[src] ? k : r->n[src] - 1u]);
}

/* ---- the mark button on D2 ---- */
#define MAX_BUTTON_EDGES 256
static avr_cycle_count_t button_at[MAX_BUTTON_EDGES]; /* cycles at which D2 flips */
static size_t n_button, next_button;
static int button_level = 1; /* released: the pull-up holds D2 high */
static avr_irq_t *button_pin;

static void load_button(const char *spec) {
	for (const char *p = spec; p && *p; ) {
		char *end;
		unsigned long long us = strtoull(p, &end, 10);
		if (end == p || n_button == MAX_BUTTON_EDGES || (*end && *end != ',') ||
		    (n_button && us * 16 <= button_at[n_button - 1])) {
			fprintf(stderr, "TWITCH_SIMAVR_BUTTON: want up to %d rising microsecond times, comma-separated\n",
			        MAX_BUTTON_EDGES);
			exit(2);
		}
		button_at[n_button++] = (avr_cycle_count_t)us * 16;
		p = *end ? end + 1 : end;
	}
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

/* Someone opening the pty's slave `path`: we hold it open ourselves, so the
 * master shows no hangup to wait on, and inotify sees the open instead. To be
 * set up before the path is printed, so no open is missed; -1 if it cannot. */
static int watch_opens(const char *path) {
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in >= 0 && inotify_add_watch(in, path, IN_OPEN) < 0) {
		close(in);
		in = -1;
	}
	if (in < 0) perror("inotify: the simulation starts without waiting for a reader");
	return in;
}

/* Until the watch `in` sees an open (or a signal stops us), then 50 ms more
 * for the reader to set the port up. */
static void wait_for_reader(int in) {
	if (in < 0) return;
	struct pollfd p = { .fd = in, .events = POLLIN };
	while (!stop_requested && poll(&p, 1, 100) <= 0) {
	}
	close(in);
	struct timespec settle = { 0, 50 * 1000 * 1000 };
	if (!stop_requested) nanosleep(&settle, NULL);
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
	load_button(getenv("TWITCH_SIMAVR_BUTTON"));
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
	the_avr = avr;
	button_pin = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), IOPORT_IRQ_PIN2);
	avr_raise_irq(button_pin, button_level);
	figures_reset();
	avr_irq_register_notify(avr_get_interrupt_irq(avr, VECTOR_TIMER1_COMPA) + AVR_INT_IRQ_PENDING, timer1_pending,
	                        NULL);
	avr_irq_register_notify(avr_get_interrupt_irq(avr, VECTOR_ADC) + AVR_INT_IRQ_RUNNING, adc_running, NULL);

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
	int opens = watch_opens(path);
	fprintf(out, "%s\n", path);
	fflush(out);

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	wait_for_reader(opens);

	const avr_cycle_count_t io_every = 16000; /* poll the pty every simulated ms */
	const avr_cycle_count_t end = (avr_cycle_count_t)(seconds * 16e6);
	avr_cycle_count_t next_io = io_every;
	double t0 = now_s();
	int state = cpu_Running;
	while (!stop_requested && avr->cycle < end) {
		state = avr_run(avr);
		if (state == cpu_Done || state == cpu_Crashed) break;
		while (next_button < n_button && avr->cycle >= button_at[next_button]) {
			button_level = !button_level;
			avr_raise_irq(button_pin, (uint32_t)button_level);
			next_button++;
		}
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
	if (!chains) for (int c = 0; c < 3; c++) conv_min[c] = 0;
	fprintf(out,
	        "done sim_s=%.3f wall_s=%.3f speed=%.3f samples=%zu button_edges=%zu raw_conversions=%llu fsr_conversions=%llu "
	        "chains=%llu conv_min=%u,%u,%u conv_max=%u,%u,%u chain_us_max=%.1f chain_us_mean=%.1f bytes=%llu "
	        "state=%d\n",
	        sim, wall, sim / wall, rows_used, next_button, raw_conversions, fsr_conversions, chains, conv_min[0], conv_min[1],
	        conv_min[2], conv_max[0], conv_max[1], conv_max[2], chain_max / 16.0,
	        chains ? (double)chain_sum / chains / 16.0 : 0.0, bytes_out, state);
	fflush(out);
	while (!stop_requested) pause();
	close(slave);
	close(pty_master);
	return state == cpu_Crashed ? 1 : 0;
}
