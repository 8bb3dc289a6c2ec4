/* md/indicator: see indicator.h */
