/* berth-helper: dispatch to one mode. */
#include <stdio.h>
#include <string.h>

int shim_main(int argc, char **argv);
int exec_main(int argc, char **argv);
int probe_main(int argc, char **argv);
int proxy_main(int argc, char **argv);
int spawner_main(int argc, char **argv);
int rootless_init_main(int argc, char **argv);
int rootless_join_main(int argc, char **argv);
int run_sealed(char **argv);

int main(int argc, char **argv)
{
	/* The modes that exec container processes run from a sealed copy (see sealed.c). */
	if (argc >= 2 && (!strcmp(argv[1], "shim") || !strcmp(argv[1], "exec") || !strcmp(argv[1], "spawner")) && run_sealed(argv) < 0)
		return 126;
	if (argc >= 2 && !strcmp(argv[1], "shim"))
		return shim_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "exec"))
		return exec_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "probe"))
		return probe_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "spawner"))
		return spawner_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "proxy"))
		return proxy_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "rootless-init"))
		return rootless_init_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "rootless-join"))
		return rootless_join_main(argc, argv);
	fprintf(stderr, "usage: berth-helper shim | spawner | exec --plan FILE [--status FILE] | probe | proxy [--netns PATH] [--listen-netns PATH] --target IP --watch PID HOSTIP HOSTPORT PORT[/udp]...\n"
			"       rootless-init --pidfile FILE --uidmap MAP --gidmap MAP -- CMD... | rootless-join --pidfile FILE -- CMD...\n");
	return 2;
}
