/* The built-in hello-world image: a static program that proves a container ran. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	printf("\nHello from Berth!\n"
	       "This message shows that your installation appears to be working correctly.\n\n"
	       "It ran in its own namespaces as pid %d on host \"%s\", from an image Berth built\n"
	       "from source, with no registry involved.\n\n"
	       "Try something more ambitious: import a rootfs and run a shell in it.\n",
	       (int)getpid(), host);
	return 0;
}
