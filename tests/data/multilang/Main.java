// One program, many behaviours, chosen by the first word on stdin (compiled once per test run).
import java.io.FileWriter;
import java.io.IOException;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Scanner;

public class Main {
    static long sink;

    public static void main(String[] args) throws Exception {
        Scanner sc = new Scanner(System.in);
        String cmd = sc.next();
        if (cmd.equals("add")) { System.out.println(sc.nextLong() + sc.nextLong()); return; }
        if (cmd.equals("loop")) { while (sink != -1) sink++; return; }
        if (cmd.equals("crash")) throw new IllegalStateException("boom");
        if (cmd.equals("fork")) {
            List<Process> ps = new ArrayList<>();
            while (sink != -1) ps.add(new ProcessBuilder("/bin/sleep", "100").start());
            return;
        }
        if (cmd.equals("net")) {
            try (Socket s = new Socket("127.0.0.1", sc.nextInt())) {
                s.getOutputStream().write("leak".getBytes());
                System.out.println("connected");
            } catch (IOException e) {
                System.out.println("blocked");
            }
            return;
        }
        if (cmd.equals("write")) {
            try (FileWriter w = new FileWriter(sc.next())) {
                w.write("evil");
                System.out.println("written");
            } catch (IOException e) {
                System.out.println("blocked");
            }
            return;
        }
        if (cmd.equals("mem")) {
            List<long[]> keep = new ArrayList<>();
            while (sink != -1) keep.add(new long[1 << 23]);
            return;
        }
        System.exit(2);
    }
}
