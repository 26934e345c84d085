import type { Metadata, Viewport } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { logOut } from "~/server/auth-actions";
import { currentActor } from "~/server/session";
import { TRPCReactProvider } from "~/trpc/react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Taskport", template: "%s · Taskport" },
  description: "Task creation for data labeling, compatible with Label Studio's API.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default async function RootLayout({ children }: { children: ReactNode }) {
  const actor = await currentActor();
  return (
    <html lang="en">
      <body>
        <a href="#content" className="skip-link">
          Skip to content
        </a>
        <header className="site-header">
          <Link href={actor ? "/projects" : "/"} className="brand">
            Taskport
          </Link>
          <nav aria-label="Main" className="site-nav">
            <ul>
              {actor && (
                <>
                  <li>
                    <Link href="/projects">Projects</Link>
                  </li>
                  <li>
                    <Link href="/tokens">API tokens</Link>
                  </li>
                </>
              )}
              <li>
                {/* Not prefetched: another part of the app that may not be deployed with this one. */}
                <Link href="/api-reference" prefetch={false}>
                  API reference
                </Link>
              </li>
              {actor ? (
                <li>
                  <form action={logOut}>
                    <button type="submit" className="link-button">
                      Log out
                    </button>
                  </form>
                </li>
              ) : (
                <>
                  <li>
                    <Link href="/login">Log in</Link>
                  </li>
                  <li>
                    <Link href="/signup">Sign up</Link>
                  </li>
                </>
              )}
            </ul>
          </nav>
        </header>
        <TRPCReactProvider>
          <main id="content" tabIndex={-1}>
            {children}
          </main>
        </TRPCReactProvider>
      </body>
    </html>
  );
}
