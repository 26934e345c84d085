import Link from "next/link";

export default function NotFound() {
  return (
    <section className="card stack">
      <h1>Not found</h1>
      <p>This page does not exist, or it belongs to another organization.</p>
      <p>
        <Link href="/projects">Go to your projects</Link>
      </p>
    </section>
  );
}
