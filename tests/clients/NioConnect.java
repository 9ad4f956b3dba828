// NioConnect.java: N concurrent non-blocking SocketChannel connects from one
// Selector (the way Java NIO servers and clients connect), each sending
// "ping" and expecting it echoed back.
//
//   java NioConnect.java HOST PORT N
//
// Prints "ok=<count> errors=<Exception:count,...|none>" and exits 0 only if
// every connection succeeded. finishConnect() is where Java reports a
// connect's failure (Net.pollConnectNow, then SO_ERROR).
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

public class NioConnect {
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]), n = Integer.parseInt(args[2]);
        Selector sel = Selector.open();
        for (int i = 0; i < n; i++) {
            SocketChannel ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.connect(new InetSocketAddress(host, port));
            ch.register(sel, SelectionKey.OP_CONNECT, ByteBuffer.allocate(16));
        }
        int ok = 0, done = 0;
        Map<String, Integer> errors = new TreeMap<>();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (done < n && System.nanoTime() < deadline) {
            sel.select(1000);
            for (SelectionKey k : sel.selectedKeys()) {
                SocketChannel ch = (SocketChannel) k.channel();
                ByteBuffer got = (ByteBuffer) k.attachment();
                try {
                    if (k.isConnectable()) {
                        if (!ch.finishConnect())
                            continue;
                        ch.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII)));
                        k.interestOps(SelectionKey.OP_READ);
                    } else if (k.isReadable()) {
                        if (ch.read(got) < 0 || got.position() >= 4) {
                            String s = new String(got.array(), 0, got.position(), StandardCharsets.US_ASCII);
                            if (s.equals("ping"))
                                ok++;
                            else
                                errors.merge("SHORT", 1, Integer::sum);
                            done++;
                            k.cancel();
                            ch.close();
                        }
                    }
                } catch (java.io.IOException e) {
                    errors.merge(e.getClass().getSimpleName() + "(" + e.getMessage() + ")", 1, Integer::sum);
                    done++;
                    k.cancel();
                    ch.close();
                }
            }
            sel.selectedKeys().clear();
        }
        if (done < n)
            errors.merge("TIMEOUT", n - done, Integer::sum);
        StringBuilder e = new StringBuilder();
        for (Map.Entry<String, Integer> x : errors.entrySet())
            e.append(e.length() > 0 ? "," : "").append(x.getKey()).append(':').append(x.getValue());
        System.out.println("ok=" + ok + " errors=" + (e.length() > 0 ? e : "none"));
        System.exit(ok == n ? 0 : 1);
    }
}
