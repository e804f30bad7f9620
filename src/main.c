/* main.c - placeholder until the run is assembled. */
#include <stdio.h>
#include "dc_util.h"
int main(void)
{
    printf("dcmcrawl %s\n", DC_VERSION);
    return 0;
}
