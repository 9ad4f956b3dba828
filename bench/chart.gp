# gnuplot -e "dat='build/bench/chart.dat'; out='build/bench/chart.svg'" bench/chart.gp
# chart.dat: "path" bulk_med bulk_p25 bulk_p75 ttfb_med_ms ttfb_p25 ttfb_p75
set terminal svg size 1000,460 font "sans,11" background rgb "white"
set output out
set multiplot layout 1,2 title "tsrun bench: paths side by side (median, bars p25–p75)"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.6 border -1
set boxwidth 0.8
set grid ytics
set xtics nomirror font ",9"
set key off
set yrange [0:*]
set title "bulk download, MB/s, log scale (higher is better)"
set logscale y
set yrange [10:*]
plot dat using 2:3:4:xtic(1) lc rgb "#3b7dd8"
unset logscale y
set yrange [0:*]
set title "new connection + small GET, first byte ms (lower is better)"
plot dat using 5:6:7:xtic(1) lc rgb "#d8783b"
unset multiplot
