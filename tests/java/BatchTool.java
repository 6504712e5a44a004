// duisconf's test driver for DCC's signing tool (tool.jar): runs its Sign and Validate entry points over
// many files in one JVM, because a JVM per file costs ~0.5 s. The tool itself decides every verdict.
//
// stdin: one job per line, tab-separated:  Validate|Sign <tab> input <tab> output <tab> tool arguments...
//        (output: where the tool's stdout goes - the signed XML for Sign, the digest input for Validate)
// stdout: one line per job:  exit code <tab> input <tab> the tool's diagnostics joined with " | "
import java.io.ByteArrayOutputStream;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import uk.co.smartdcc.boxed.xmldsig.ResultCode;
import uk.co.smartdcc.boxed.xmldsig.Sign;
import uk.co.smartdcc.boxed.xmldsig.Validate;

public final class BatchTool {
    // The tool calls System.exit on unreadable input; turn that into a result for the one job.
    private static final class Exit extends SecurityException {
        final int status;
        Exit(int status) { super("exit " + status); this.status = status; }
    }

    @SuppressWarnings("removal")
    public static void main(String[] args) throws Exception {
        try {
            System.setSecurityManager(new SecurityManager() {
                @Override public void checkExit(int status) { throw new Exit(status); }
                @Override public void checkPermission(java.security.Permission perm) { }
            });
        } catch (UnsupportedOperationException gone) {
            // JDK 24+: no SecurityManager; unreadable input then ends the batch (every input here parses)
        }
        PrintStream results = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, "UTF-8");
        BufferedReader jobs = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = jobs.readLine()) != null; ) {
            if (line.isBlank()) continue;
            String[] job = line.split("\t");
            String[] toolArgs = new String[job.length - 2];
            toolArgs[0] = job[1];
            System.arraycopy(job, 3, toolArgs, 1, job.length - 3);
            ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
            System.setOut(new PrintStream(out, true, "UTF-8"));
            System.setErr(new PrintStream(err, true, "UTF-8"));
            int code;
            try {
                ResultCode result = job[0].equals("Sign") ? Sign.main_aux(toolArgs) : Validate.main_aux(toolArgs);
                code = result.value();
            } catch (Exit exit) {
                code = exit.status;
            } catch (Throwable t) {
                code = 1;
                System.err.println("[E] " + t);
            }
            System.out.flush();
            System.err.flush();
            Files.write(Paths.get(job[2]), out.toByteArray());
            String said = err.toString(StandardCharsets.UTF_8).strip().replace("\r", "").replace("\n", " | ");
            results.println(code + "\t" + job[1] + "\t" + said);
        }
    }
}
