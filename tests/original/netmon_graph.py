#!/usr/bin/env python3
# The 2010 graph script from ../../../shared/seeds/000_b34ccfa2bc350a3a.txt,
# ported to Python 3 with the fewest changes, each marked "PORT:" (print(),
# open(), int for long). It must keep reading netmon's logs.

import sys
import os

OUT_FILE = "netmon_graph.dat"

def main(netmon_log):
        if not os.path.exists(netmon_log):
                print("Error %s doesn't exist!" % (netmon_log))  # PORT
                sys.exit(1)

        inFile = open(netmon_log)  # PORT
        outFile = open(OUT_FILE, 'w')  # PORT

        outFile.write("%s\t%s\t%s\n" % ("Date", "Proxy", "Non-Network"))

        line = inFile.readline()
        lastProxyValue = 0
        lastNetValue = 0
        while len(line) > 0:
                #process
                cols = line.strip().split()
                if len(cols) == 3:
                        date = cols[0]
                        proxy = int(cols[1])  # PORT
                        net = int(cols[2])  # PORT

                        if proxy < lastProxyValue or net < lastNetValue:
                                lastProxyValue = 0
                                lastNetValue = 0

                        # Calc
                        newProxy = proxy - lastProxyValue
                        newNet = net - lastNetValue

                        lastProxyValue = proxy
                        lastNetValue = net

                        # Convert to MBs
                        newProxy = float(newProxy) / 1024.0 / 1024.0
                        newNet = float(newNet) / 1024.0 / 1024.0

                        outFile.write("%s\t%.2f\t%.2f\n" % (date, newProxy, newNet))

                line = inFile.readline()

        inFile.close()
        outFile.close()

if __name__ == "__main__":
        main(sys.argv[1])
