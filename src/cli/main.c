#include "satprobe/lang.h"
int main(void) { return 0; }
